"""Scoring coverage on a real PostgreSQL and GX: taken after every scoring run, checked by the
coverage suite, a stalled run a failed validation recorded in dq_runs."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import psycopg
import pytest

from logintel import coverage, db, scoring, training
from logintel.ingest import ingest_paths
from logintel.synthetic import generate, write_logs


@pytest.fixture
def scored(fresh_db, tmp_path):
    path = tmp_path / "logs.jsonl"
    write_logs(generate(3000, days=1, seed=3, start=datetime(2026, 1, 5, tzinfo=timezone.utc)), path)
    ingest_paths([path], url=fresh_db)
    training.train_and_register(fresh_db, seed=0)
    result = scoring.score_all(fresh_db, run_key="first")
    return fresh_db, result


def _dq(url: str) -> list[tuple]:
    with db.connect(url) as conn:
        return conn.execute("SELECT run_key, success FROM logintel.dq_runs WHERE suite = 'scoring_coverage' "
                            "ORDER BY id").fetchall()


def test_a_complete_run_is_covered_and_passes(scored):
    url, result = scored
    assert result["coverage"] and set(result["coverage"].values()) == {1.0}  # every service, all scored
    with db.connect(url) as conn:
        rows = coverage.latest(conn)
        stored = conn.execute("SELECT count(*) FROM logintel.logs").fetchone()[0]
    assert sum(r["logs"] for r in rows) == stored == 3000 and all(r["oldest_unscored_age_s"] is None for r in rows)
    assert all(r["lag_seconds"] is not None and r["lag_seconds"] >= 0 for r in rows)
    checked = coverage.check(url, result["run_id"], "first")
    assert checked["success"] and _dq(url) == [("first", True)]


def test_a_stalled_run_is_a_failed_recorded_validation(scored, tmp_path):
    url, _ = scored
    more = tmp_path / "more.jsonl"
    write_logs(generate(500, days=0.2, seed=4, start=datetime(2026, 1, 6, tzinfo=timezone.utc)), more)
    ingest_paths([more], url=url)
    run = scoring.start_run(url, "stalled")  # planned, never scored
    with pytest.raises(coverage.CoverageError, match="coverage check failed"):
        coverage.check(url, run.run_id, "stalled")
    assert _dq(url) == [("stalled", False)]
    with db.connect(url) as conn:
        rows = coverage.latest(conn)
        history = coverage.history(conn)
    assert sum(r["logs"] for r in rows) == 3500 and sum(r["scored"] for r in rows) == 3000
    assert [h["run_key"] for h in history] == ["stalled", "first"] and history[0]["coverage"] < 0.9
    # what a person sees: the command (exit 1 with --check), the summary and the report
    cli = str(Path(sys.executable).with_name("logintel"))
    shown = subprocess.run([cli, "coverage"], capture_output=True, text=True, env=os.environ, timeout=300)
    first = rows[0]["scored"] / rows[0]["logs"]  # one service's share, as the table and the report show it
    assert shown.returncode == 0 and "scoring coverage after run" in shown.stdout and f"{first:.2%}" in shown.stdout
    checked = subprocess.run([cli, "coverage", "--check"], capture_output=True, text=True, env=os.environ, timeout=300)
    assert checked.returncode == 7 and '"success": false' in checked.stdout
    from logintel.report import write_report
    from logintel.report.summary import collect

    assert sum(r["scored"] for r in collect(url)["coverage"]) == 3000
    html = write_report(url).read_text()
    assert "Scoring coverage" in html and "stalled" in html and f"{100 * first:.2f} %" in html
    # the next run scores what waited: covered again, the snapshot of the stalled run stays as it was
    done = scoring.score_all(url, run_key="next")
    assert set(done["coverage"].values()) == {1.0}
    assert coverage.check(url, done["run_id"], "next")["success"]


def test_a_log_waiting_too_long_fails_even_when_the_share_is_fine(scored, monkeypatch):
    url, _ = scored
    with db.transaction(url) as conn:
        # one log arrived a day ago and was never scored (its prediction lost), one has no level
        conn.execute("""DELETE FROM logintel.ml_predictions WHERE log_id = (SELECT min(id) FROM logintel.logs)""")
        conn.execute("""UPDATE logintel.logs SET ingested_at = now() - interval '1 day'
                        WHERE id = (SELECT min(id) FROM logintel.logs)""")
        conn.execute("UPDATE logintel.logs SET level = NULL WHERE id = (SELECT max(id) FROM logintel.logs)")
    run = scoring.start_run(url, "late")
    monkeypatch.setenv("LOGINTEL_MIN_COVERAGE", "0.5")
    with pytest.raises(coverage.CoverageError):
        coverage.check(url, run.run_id, "late")
    with db.connect(url) as conn:
        rows = coverage.latest(conn)
    assert max(r["oldest_unscored_age_s"] or 0 for r in rows) > 20 * 3600
    assert sum(r["unscorable"] for r in rows) == 1 and sum(r["logs"] for r in rows) == 2999
    monkeypatch.setenv("LOGINTEL_MAX_UNSCORED_HOURS", "48")
    assert coverage.check(url, run.run_id, "late")["success"]


def test_the_snapshot_hashes_the_scored_ids_at_any_size(scored):
    """Below the memory the planner wants for the hash, PostgreSQL scans the whole NOT IN set
    again for every log (quadratic: at ~12M predictions the 256MB default never finished). The
    snapshot's work_mem grows with the predictions; here the floor is set tiny to show it."""
    url, result = scored
    run_id, version = result["run_id"], result["model_version"]
    query = db.sql("coverage/snapshot")
    with psycopg.connect(url) as conn:
        # more ids than 64kB can hash (predictions of logs that are not stored: only the set's size matters)
        conn.execute("INSERT INTO logintel.ml_predictions (log_id, model_version, template_key, predicted_level, "
                     "confidence, anomaly_score, predicted_anomaly, scoring_run_id) "
                     "SELECT 10000000 + i, %s, 'x', 'INFO', 1, 0, false, %s FROM generate_series(1, 30000) i",
                     (version, run_id))
        conn.execute("ANALYZE logintel.ml_predictions")
        conn.execute("ANALYZE logintel.logs")
        bound = psycopg.ClientCursor(conn).mogrify(query, {"run_id": run_id, "model_version": version})

        def plan(work_mem: str) -> str:
            conn.execute("SELECT set_config('work_mem', %s, false)", (work_mem,))
            return "\n".join(r[0] for r in conn.execute("EXPLAIN VERBOSE " + bound))

        assert "hashed SubPlan" not in plan("64kB")  # too little: the per-log rescan
        sized = coverage.hash_work_mem(coverage.predictions_estimate(conn), floor_mb=0)
        assert "hashed SubPlan" in plan(sized), plan(sized)
