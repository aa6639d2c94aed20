"""The whole pipeline through the real DAGs with `airflow dags test`, against a real Postgres."""
from __future__ import annotations

import json

import psycopg
import pytest

from airflow_runner import airflow_env, dags_test
from logintel.synthetic import generate, write_logs

pytestmark = pytest.mark.slow
PASSWORD = "dag-chain-pw-not-real-93"  # planted-secret


def _with_password(url: str) -> str:
    scheme, rest = url.split("://", 1)
    user, host = rest.split("@", 1)
    return f"{scheme}://{user}:{PASSWORD}@{host}"


def _counts(url: str) -> dict:
    with psycopg.connect(url) as conn:
        q = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
        return {
            "logs": q("SELECT count(*) FROM logintel.logs"),
            "batches": q("SELECT count(*) FROM logintel.ingest_batches WHERE status = 'done' AND loaded_count > 0"),
            "quarantine": q("SELECT count(*) FROM logintel.logs_quarantine"),
            "dq_runs": q("SELECT count(*) FROM logintel.dq_runs"),
            "models": q("SELECT count(*) FROM logintel.model_versions"),
            "champions": q("SELECT count(*) FROM logintel.model_versions WHERE status = 'champion'"),
            "predictions": q("SELECT count(*) FROM logintel.ml_predictions"),
            "findings": q("SELECT count(*) FROM logintel.dq_findings"),
            "injected": q("SELECT count(*) FROM logintel.injected_issues"),
        }


def test_full_chain_with_airflow_dags_test(fresh_db, tmp_path, smtp_server):
    landing = tmp_path / "landing"
    landing.mkdir()
    n = write_logs(generate(6000, days=2, seed=7), landing / "app.jsonl")
    (landing / "broken.jsonl").write_text('{"ts": "2026-01-01T00:00:00Z", "level": "INFO"\nnot json\n')
    controller, mails = smtp_server  # the alert task's digest goes to a real SMTP server
    alerts_conn = {"conn_type": "smtp", "host": "127.0.0.1", "port": controller.port,
                   "extra": {"disable_tls": True, "disable_ssl": True, "to": "oncall@example.org"}}
    # The tasks get the URL with a password (the trust-auth test server ignores it): no task log may show it.
    # Chunks of 1,000 records: the 6,000-line file is masked in a helper process inside the Airflow task.
    env = airflow_env(_with_password(fresh_db), tmp_path, AIRFLOW_CONN_LOGINTEL_ALERTS=json.dumps(alerts_conn),
                      AIRFLOW__LOGGING__LOGGING_LEVEL="INFO",  # the task logs in full, to scan them
                      LOGINTEL_INGEST_CHUNK_ROWS="1000")

    outputs = [dags_test("log_ingest", env),
               dags_test("log_simulate_issues", env, conf='{"rate": 0.03, "scheme": "reference", "seed": 1}'),
               dags_test("log_quality", env), dags_test("log_training", env), dags_test("log_scoring", env),
               dags_test("log_retention", env)]  # nothing is old enough: it creates partitions ahead only
    assert "score_partition" in outputs[-2]
    task_logs = "".join(outputs) + "".join(p.read_text(errors="replace") for p in tmp_path.rglob("*.log"))
    assert len(task_logs) > 10_000 and "ingest_files" in task_logs  # the task logs were scanned, not nothing
    assert "masking in a helper process" in task_logs  # started in the task (and its keys checked below)
    assert PASSWORD not in task_logs

    first = _counts(fresh_db)
    assert first["logs"] == n
    assert first["quarantine"] == 2
    assert first["dq_runs"] == 4  # the quality, findings, coverage and drift suites
    assert first["champions"] == 1
    assert first["predictions"] == n
    assert first["injected"] > 0
    assert first["findings"] > 0
    with psycopg.connect(fresh_db) as conn:
        tp = conn.execute("""SELECT count(*) FROM logintel.dq_findings f
                             JOIN logintel.injected_issues i USING (log_id)""").fetchone()[0]
        docs = conn.execute("SELECT data_docs_path FROM logintel.dq_runs LIMIT 1").fetchone()[0]
        covered = conn.execute("""SELECT d.success, sum(c.logs), sum(c.scored) FROM logintel.dq_runs d
                                  CROSS JOIN logintel.coverage_snapshots c
                                  WHERE d.suite = 'scoring_coverage' GROUP BY 1""").fetchall()
    assert covered == [(True, n, n)]  # the scoring run covered every log, and the coverage suite says so
    with psycopg.connect(fresh_db) as conn:  # the history scored by its own model: no drift
        drifted = conn.execute("""SELECT d.success, sum(s.lines) FROM logintel.dq_runs d
                                  CROSS JOIN logintel.drift_snapshots s
                                  WHERE d.suite = 'scoring_drift' GROUP BY 1""").fetchall()
    assert drifted == [(True, n)]
    assert tp > 0, "findings must hit injected issues"
    assert docs and docs.endswith("index.html")
    assert (tmp_path / "reports" / "logintel_report.html").exists()
    assert len(mails) == 1 and "new finding group" in mails[0]["Subject"]  # one digest of the new groups

    with psycopg.connect(fresh_db) as conn:
        first_findings = conn.execute("SELECT log_id, kind, suggested_value FROM logintel.dq_findings "
                                      "ORDER BY 1, 2").fetchall()
    # Every DAG once more for the same input: nothing new, nothing duplicated (a third pass
    # took about 50 s and could only find what the second one shows).
    for dag_id in ("log_ingest", "log_quality", "log_training", "log_scoring", "log_retention"):
        dags_test(dag_id, env)
    dags_test("log_simulate_issues", env, conf='{"rate": 0.03, "scheme": "reference", "seed": 1}')
    again = _counts(fresh_db)
    assert {k: v for k, v in again.items() if k != "dq_runs"} == {k: v for k, v in first.items() if k != "dq_runs"}
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("SELECT log_id, kind, suggested_value FROM logintel.dq_findings "
                            "ORDER BY 1, 2").fetchall() == first_findings
        assert conn.execute("SELECT status, count(*) FROM logintel.alerts GROUP BY 1").fetchall() == [("sent", 1)]
    assert len(mails) == 1  # later runs found nothing new: nothing sent again
