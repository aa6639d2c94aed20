"""The embedded PostgreSQL (the default for a fresh machine): loopback only, survives restarts,
and a scoring run cut by a server restart fails, then its retry completes with no partial chunk."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import psycopg
import pytest

from db_checks import partial_chunks
from logintel import db, embedded, registry, scoring, training
from logintel.ingest import ingest_paths
from logintel.synthetic import generate, write_logs

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    pgdata = tmp_path_factory.mktemp("embedded") / "pgdata"
    port = _free_port()
    url = embedded.start(pgdata, port)
    yield pgdata, port, url
    embedded.destroy(pgdata)


def test_listens_on_loopback_only(server):
    _, port, url = server
    with psycopg.connect(url) as conn:
        assert conn.execute("SHOW listen_addresses").fetchone()[0] == "127.0.0.1"
        assert conn.execute("SHOW port").fetchone()[0] == str(port)


def test_data_survives_stop_and_start(server):
    pgdata, port, url = server
    target = db.with_database(url, "survive")
    db.ensure_database(target)
    with psycopg.connect(target) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS t (x int)")
        conn.execute("INSERT INTO t VALUES (42)")
    assert embedded.stop(pgdata)
    assert not embedded.is_running(pgdata)
    assert embedded.start(pgdata, port) == url
    with psycopg.connect(target) as conn:
        assert conn.execute("SELECT sum(x) FROM t").fetchone()[0] == 42


SCORE = """
import sys
from logintel import scoring
scoring.score_all(sys.argv[1], run_key="restart", partitions=1, chunk_size=250)
"""


def test_restart_mid_scoring_fails_the_run_and_the_retry_completes(server, tmp_path, monkeypatch):
    pgdata, port, url = server
    target = db.with_database(url, "restart")
    db.upgrade(target)
    monkeypatch.setenv("LOGINTEL_MODELS_DIR", str(tmp_path / "models"))
    path = tmp_path / "app.jsonl"
    n = write_logs(generate(6000, days=1, seed=9), path)
    ingest_paths([path], url=target)
    training.train_and_register(target)

    def count() -> int:
        try:
            with psycopg.connect(target) as conn:
                return conn.execute("SELECT count(*) FROM logintel.ml_predictions").fetchone()[0]
        except psycopg.OperationalError:
            return -1

    # The restart lands at a controlled point, not in a race: the test holds the advisory lock of
    # the third chunk, and stops the server once the scoring process waits on it.
    with psycopg.connect(target) as conn:
        first_id = conn.execute("SELECT min(id) FROM logintel.logs").fetchone()[0]
    key = scoring._chunk_lock(registry.require_champion(target).version, first_id // 250 + 2)
    holder = psycopg.connect(target, autocommit=True)
    holder.execute("SELECT pg_advisory_lock(%s)", (key,))
    proc = subprocess.Popen([sys.executable, "-c", SCORE, target], env=dict(os.environ),
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and not holder.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").fetchone()[0]:
        time.sleep(0.05)
    assert proc.poll() is None, "the scoring process should be waiting on the held chunk"
    embedded.stop(pgdata)  # the database goes away mid-run (the holder's session with it)
    holder.close()
    embedded.start(pgdata, port)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode != 0, "the run must fail when its database restarts"
    assert "OperationalError" in err or "terminating connection" in err or "server closed" in err, err[-2000:]
    partial = count()
    assert 0 < partial < n
    torn = partial_chunks(target, 250)
    assert torn == 0, "only whole chunks survive the crash"
    # The retry (what Airflow's retries do) completes the run.
    scoring.score_all(target, run_key="restart", partitions=1, chunk_size=250)
    assert count() == n
    with psycopg.connect(target) as conn:
        assert conn.execute("SELECT count(DISTINCT log_id) FROM logintel.ml_predictions").fetchone()[0] == n
