"""Scale-out on Airflow's own engine, no Docker: a scheduler, a DAG processor, an API server and
TWO Celery workers (separate processes, distinct names, one in another working directory) on Redis
as the broker and PostgreSQL as the result backend, run `log_scoring` with 4 mapped partitions.

Checked: the partitions ran on both workers (the task instances' hostnames); one worker killed
with SIGKILL in the middle of a partition (held at a chunk lock the test owns, so the kill lands
mid-partition, not in a race) leads to a retry on the other worker that completes with no duplicate
and no missing prediction; predictions and findings equal those of a run in one process on a
copy of the same database.
"""
from __future__ import annotations

import json
import os
import random
import socket
import time
from datetime import datetime, timezone

import psycopg
import pytest

from airflow_runner import REPO, Processes, airflow_cli, dag_runs, deployment_env, free_port, wait_for
from logintel import corrupt, db, findings, registry, scoring, training
from logintel.evaluate import drop_database
from logintel.ingest import ingest_paths
from logintel.synthetic import generate, write_logs

pytestmark = pytest.mark.slow

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
LOGS, PARTITIONS, CHUNK = 8000, 4, 1000
WORKERS = ("worker-a", "worker-b")


def _need_redis() -> None:
    try:
        socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=2).close()
    except OSError:
        pytest.skip(f"no Redis at {REDIS_HOST}:{REDIS_PORT}: start one (`redis-server --daemonize yes`, "
                    "Debian package redis-server; .ci/run starts it) to run the CeleryExecutor test")


def _predictions(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT log_id, template_key, predicted_level, round(confidence::numeric, 4), "
                            "predicted_anomaly FROM logintel.ml_predictions ORDER BY log_id").fetchall()


def _findings(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT log_id, kind, recorded_value, suggested_value FROM logintel.dq_findings "
                            "ORDER BY 1, 2").fetchall()


def _metadata(metadata_url: str, sql: str, params=()) -> list[tuple]:
    with psycopg.connect("postgresql://" + metadata_url.split("://", 1)[1]) as conn:
        return conn.execute(sql, params).fetchall()


def test_log_scoring_on_two_celery_workers_survives_a_killed_worker(fresh_db, metadata_db, server_url, tmp_path):
    _need_redis()
    path = tmp_path / "logs.jsonl"
    write_logs(generate(LOGS, days=1, seed=5, start=datetime(2026, 1, 5, tzinfo=timezone.utc)), path)
    ingest_paths([path], url=fresh_db)
    corrupt.inject(fresh_db, rate=0.03, scheme="reference", seed=1)
    training.train_and_register(fresh_db, seed=1)
    model = registry.require_champion(fresh_db)
    # the reference: the same database, scored in one process
    reference = db.with_database(server_url, db.database_name(fresh_db) + "_ref")
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db.database_name(reference)}" TEMPLATE "{db.database_name(fresh_db)}"')
    try:
        scoring.score_all(reference, run_key="reference", partitions=PARTITIONS, chunk_size=CHUNK)
        findings.record_findings(reference, "reference")
        expected_predictions, expected_findings = _predictions(reference), _findings(reference)
    finally:
        drop_database(reference)

    broker = f"redis://{REDIS_HOST}:{REDIS_PORT}/{random.randint(1, 15)}"
    port = free_port()
    env = deployment_env(fresh_db, tmp_path, metadata_db, port, **{
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CELERY__BROKER_URL": broker,
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+postgresql://" + metadata_db.split("://", 1)[1],
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "1",
        # a worker that dies stops its tasks' heartbeats: found after 20 s, not the default 5 minutes
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "support.worker_identity.hostname",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "tests"), os.environ.get("PYTHONPATH")])),
        "LOGINTEL_ASSET_BASE": "postgres://celery-test:5432/logintel/logintel",
        # the DAG's param defaults: a scheduled run (unpausing creates one) splits the work alike
        "LOGINTEL_PARTITIONS": str(PARTITIONS), "LOGINTEL_CHUNK_SIZE": str(CHUNK),
    })
    import redis

    redis.Redis.from_url(broker).flushdb()
    airflow_cli(env, "db", "migrate", timeout=300)
    elsewhere = tmp_path / "another-working-directory"  # a worker that shares only the models folder
    elsewhere.mkdir()
    lock = scoring._chunk_lock(model.version, 1)  # ids 1000-1999: the second chunk of partition 0
    with Processes(tmp_path) as deployment, psycopg.connect(fresh_db, autocommit=True) as holder:
        for name, args in (("api-server", ["api-server", "--port", str(port)]), ("scheduler", ["scheduler"]),
                           ("dag-processor", ["dag-processor"])):
            deployment.start(name, args, env)
        for name, cwd in zip(WORKERS, (REPO, elsewhere)):
            deployment.start(name, ["celery", "worker", "-H", name, "-c", "1", "--skip-serve-logs"],
                             {**env, "LOGINTEL_TEST_WORKER": name}, cwd=cwd)
        logs = deployment.logs
        wait_for(lambda: "log_scoring" in airflow_cli(env, "dags", "list"), 240, "the DAG processor", logs)
        holder.execute("SELECT pg_advisory_lock(%s)", (lock,))
        airflow_cli(env, "dags", "unpause", "log_scoring")
        airflow_cli(env, "dags", "trigger", "log_scoring", "-c",
                    json.dumps({"partitions": PARTITIONS, "chunk_size": CHUNK}))

        def held_partition():
            waiting = holder.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                                     "AND ((classid::bigint << 32) | objid::bigint) = (%s::bigint & x'ffffffffffffffff'::bigint)",
                                     (lock,)).fetchone()[0]
            if not waiting:
                return None
            rows = _metadata(metadata_db, "SELECT hostname, run_id FROM task_instance WHERE dag_id = 'log_scoring' "
                                          "AND task_id = 'score_partition' AND map_index = 0 AND state = 'running'")
            return rows[0] if rows and rows[0][0] in WORKERS else None

        victim, run_id = wait_for(held_partition, 400, "partition 0 to wait at the held chunk", logs, every=1)
        committed = holder.execute("SELECT count(*) FROM logintel.ml_predictions").fetchone()[0]
        deployment.kill(victim)  # SIGKILL to the worker's whole process group, mid-partition
        holder.execute("SELECT pg_advisory_unlock(%s)", (lock,))
        survivor = next(w for w in WORKERS if w != victim)

        def finished():  # every run (the manual one, and the one unpausing may schedule) has ended
            runs = dag_runs(env, "log_scoring")
            return runs if runs and all(r.get("state") in ("success", "failed") for r in runs) else None

        runs = wait_for(finished, 600, "log_scoring to finish after the kill", logs)
        assert {r["state"] for r in runs} == {"success"}, runs
        tries = _metadata(metadata_db, """
            SELECT map_index, try_number, hostname, state FROM task_instance_history
            WHERE dag_id = 'log_scoring' AND task_id = 'score_partition' AND run_id = %(run)s
            UNION ALL
            SELECT map_index, try_number, hostname, state FROM task_instance
            WHERE dag_id = 'log_scoring' AND task_id = 'score_partition' AND run_id = %(run)s ORDER BY 1, 2""",
                          {"run": run_id})

    assert committed < LOGS, "the kill landed in the middle of the scoring"
    hosts = {h for _, _, h, _ in tries}
    assert set(WORKERS) <= hosts, tries  # the mapped partitions ran on both workers
    partition0 = [(t, h, s) for m, t, h, s in tries if m == 0]
    assert partition0[0][1] == victim and partition0[-1] == (partition0[-1][0], survivor, "success"), partition0
    assert len({m for m, *_ in tries}) == PARTITIONS
    got = _predictions(fresh_db)
    assert len(got) == LOGS and len({p[0] for p in got}) == LOGS  # none missing, none twice
    assert got == expected_predictions
    assert _findings(fresh_db) == expected_findings
