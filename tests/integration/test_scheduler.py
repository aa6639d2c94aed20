"""One real Airflow deployment: API server + scheduler (LocalExecutor) + DAG processor.

`airflow dags test` runs tasks in-process, where the ORM still works; under a real
executor, tasks may only use the Task SDK. This test runs every DAG under the scheduler:
log_ingest, whose asset event triggers log_quality, then log_simulate_issues, log_training and
log_scoring (mapped partitions), with the Logintel database given ONLY as the Airflow
connection `logintel_db` stored in the metadata DB (no LOGINTEL_DATABASE_URL, no
AIRFLOW_CONN_* variable), so tasks resolve it through the Task SDK's `Connection.get`.
"""
from __future__ import annotations

import json
import time

import psycopg
import pytest

from airflow_runner import Processes, airflow_cli as _airflow, dag_runs as _runs, deployment_env, free_port
from airflow_runner import wait_for as _wait
from logintel.synthetic import generate, write_logs

pytestmark = pytest.mark.slow


def _trigger_and_wait(env: dict, dag_id: str, logs: list) -> dict:
    """Trigger one more run of `dag_id` and wait for it to end; returns that run."""
    before = {r["run_id"] for r in _runs(env, dag_id)}
    _airflow(env, "dags", "trigger", dag_id)

    def ended():
        runs = [r for r in _runs(env, dag_id) if r["run_id"] not in before]
        return runs[0] if runs and runs[0].get("state") in ("success", "failed") else None

    return _wait(ended, 300, f"the new {dag_id} run to finish", logs)


def test_every_dag_under_the_scheduler_with_the_database_only_as_a_connection(fresh_db, metadata_db, tmp_path):
    port = free_port()
    env = deployment_env(fresh_db, tmp_path, metadata_db, port, **{
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "LOGINTEL_ASSET_BASE": "postgres://scheduler-test:5432/logintel/logintel",
    })
    # The database only as a connection in the metadata DB: tasks must use the Task SDK.
    for name in ("LOGINTEL_DATABASE_URL", "AIRFLOW_CONN_LOGINTEL_DB"):
        env.pop(name, None)
    landing = tmp_path / "landing"
    landing.mkdir()
    n = write_logs(generate(2000, days=1, seed=3), landing / "app.jsonl")
    _airflow(env, "db", "migrate", timeout=300)
    _airflow(env, "connections", "add", "logintel_db", "--conn-uri", fresh_db)

    with Processes(tmp_path) as deployment:
        logs = deployment.logs
        for name, args in (("api-server", ["api-server", "--port", str(port)]), ("scheduler", ["scheduler"]),
                           ("dag-processor", ["dag-processor"])):
            deployment.start(name, args, env)
        _wait(lambda: "log_quality" in _airflow(env, "dags", "list"), 180, "the DAG processor", logs)
        for dag_id in ("log_ingest", "log_quality"):
            _airflow(env, "dags", "unpause", dag_id)
        _airflow(env, "dags", "trigger", "log_ingest")

        def finished(dag_id):
            runs = _runs(env, dag_id)
            done = [r for r in runs if r.get("state") in ("success", "failed")]
            return done[0] if done else None

        ingest_run = _wait(lambda: finished("log_ingest"), 240, "log_ingest to finish", logs)
        assert ingest_run["state"] == "success", ingest_run
        quality_run = _wait(lambda: finished("log_quality"), 240, "the asset-triggered log_quality run", logs)
        assert quality_run["state"] == "success", quality_run
        # The other DAGs one after another (log_scoring last: it needs a champion).
        for dag_id, conf in (("log_simulate_issues", {"rate": 0.03, "scheme": "reference", "seed": 1}),
                             ("log_training", None), ("log_scoring", {"partitions": 2})):
            _airflow(env, "dags", "unpause", dag_id)
            if dag_id == "log_scoring":  # an asset-triggered run may have started on unpausing
                _wait(lambda: not [r for r in _runs(env, dag_id) if r.get("state") in ("queued", "running")],
                      300, "earlier log_scoring runs", logs)
            _airflow(env, "dags", "trigger", dag_id, *(["-c", json.dumps(conf)] if conf else []))

            def triggered(dag_id=dag_id):
                runs = [r for r in _runs(env, dag_id) if str(r.get("run_id", "")).startswith("manual__")]
                return runs[0] if runs and runs[0].get("state") in ("success", "failed") else None

            run = _wait(triggered, 300, f"{dag_id} to finish", logs)
            assert run["state"] == "success", run
        # Nothing new in the landing folder: the ingest task is skipped, so no asset event and
        # no new asset-triggered log_quality run.
        quality_before = len(_runs(env, "log_quality"))
        again = _trigger_and_wait(env, "log_ingest", logs)
        assert again["state"] == "success", again
        states = _airflow(env, "tasks", "states-for-dag-run", "log_ingest", again["run_id"], "-o", "json")
        states = json.loads(states[states.find("["):])
        assert {t["task_id"]: t["state"] for t in states}.get("ingest_files") == "skipped", states
        time.sleep(20)  # the scheduler would have created an asset-triggered run by now
        assert len(_runs(env, "log_quality")) == quality_before
        # log_scoring again with nothing new: it runs, but emits neither asset event
        rescored = _trigger_and_wait(env, "log_scoring", logs)
        assert rescored["state"] == "success", rescored
        states = _airflow(env, "tasks", "states-for-dag-run", "log_scoring", rescored["run_id"], "-o", "json")
        states = {t["task_id"]: t["state"] for t in json.loads(states[states.find("["):])}
        # nothing to score: no partition, so everything after plan is skipped, the publish tasks too
        assert states["publish_predictions"] == states["publish_findings"] == "skipped", states
    with psycopg.connect("postgresql://" + metadata_db.split("://", 1)[1]) as meta:
        events = meta.execute("SELECT a.name, e.extra FROM asset_event e JOIN asset a ON a.id = e.asset_id "
                              "WHERE a.name IN ('logintel_ml_predictions', 'logintel_dq_findings') ORDER BY e.id").fetchall()
    assert sorted(name for name, _ in events) == ["logintel_dq_findings", "logintel_ml_predictions"], events
    extra = next(e for name, e in events if name == "logintel_dq_findings")  # one event each, from the first run
    assert extra["new_findings"] > 0 and sum(extra["by_kind"].values()) >= extra["new_findings"], extra

    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("SELECT count(*) FROM logintel.logs").fetchone()[0] == n
        suites = sorted({r[0] for r in conn.execute("SELECT suite FROM logintel.dq_runs")})
        assert conn.execute("SELECT count(*) FROM logintel.injected_issues").fetchone()[0] > 0
        champion = conn.execute("SELECT version FROM logintel.model_versions WHERE status = 'champion'").fetchone()
        assert champion is not None
        scored = conn.execute("SELECT count(*) FROM logintel.ml_predictions WHERE model_version = %s",
                              champion).fetchone()[0]
        assert scored == n  # every log scored once, by the champion, over two mapped partitions
        assert conn.execute("SELECT count(*) FROM logintel.dq_findings").fetchone()[0] > 0
    assert suites == ["logs_quality", "prediction_findings", "scoring_coverage", "scoring_drift"]
