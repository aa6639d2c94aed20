"""Drift on a real PostgreSQL and GX: the logs of a scoring run against the model's history;
a shifted batch (a new release's templates, a level-mix change, a new service) fails the drift
suite, a batch from the same distribution does not."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from logintel import coverage, db, drift, scoring, training
from logintel.ingest import ingest_paths
from logintel.synthetic import generate, write_logs

START = datetime(2026, 1, 5, tzinfo=timezone.utc)


@pytest.fixture
def trained(fresh_db, tmp_path):
    path = tmp_path / "history.jsonl"
    write_logs(generate(8000, days=2, seed=3, start=START), path)
    ingest_paths([path], url=fresh_db)
    training.train_and_register(fresh_db, seed=0)
    first = scoring.score_all(fresh_db, run_key="history")
    return fresh_db, first


def _later(tmp_path, name: str, n: int = 4000, seed: int = 4) -> Path:
    path = tmp_path / f"{name}.jsonl"
    write_logs(generate(n, days=1, seed=seed, start=START + timedelta(days=2)), path)
    return path


def _suite(url: str) -> list[tuple]:
    with db.connect(url) as conn:
        return conn.execute("SELECT run_key, success FROM logintel.dq_runs WHERE suite = 'scoring_drift' "
                            "ORDER BY id").fetchall()


def test_a_batch_like_the_history_does_not_drift(trained, tmp_path):
    url, first = trained
    assert drift.check(url, first["run_id"], "history")["success"]  # the history against itself
    ingest_paths([_later(tmp_path, "same")], url=url)
    later = scoring.score_all(url, run_key="same")
    result = drift.check(url, later["run_id"], "same")
    rows = {r["service"]: r for r in result["services"]}
    assert result["success"], (result["failed"], rows)
    assert sum(r["lines"] for r in rows.values()) == 4000 and not any(r["new_service"] for r in rows.values())
    assert all(r["level_psi"] is None or r["level_psi"] < 0.1 for r in rows.values())
    assert all(r["template_level_psi"] is None or r["template_level_psi"] < 0.25 for r in rows.values())
    assert any(r["template_level_psi"] is not None for r in rows.values())  # it was measured
    assert _suite(url) == [("history", True), ("same", True)]


def test_a_shifted_batch_drifts_and_says_where(trained, tmp_path):
    url, _ = trained
    path = _later(tmp_path, "shifted")
    with path.open("a") as out:  # a new release: new templates in gateway; a new service
        for i in range(400):
            ts = (START + timedelta(days=2, seconds=30 * i)).isoformat()
            out.write(json.dumps({"ts": ts, "level": "INFO", "service": "gateway", "is_anomaly": False,
                                  "message": f"Feature flag checkout_v{i % 7} evaluated for tenant t{i}"}) + "\n")
            out.write(json.dumps({"ts": ts, "level": "INFO", "service": "billing", "is_anomaly": False,
                                  "message": f"Invoice {i} issued"}) + "\n")
    batch = ingest_paths([path], url=url).batch_id
    with db.transaction(url) as conn:  # and the payments service now logs half of its lines as ERROR
        conn.execute("""UPDATE logintel.logs SET level = 'ERROR'
                        WHERE ingest_batch_id = %s AND service = 'payments' AND id %% 2 = 0""", (batch,))
    later = scoring.score_all(url, run_key="shifted")
    result = drift.check(url, later["run_id"], "shifted")
    rows = {r["service"]: r for r in result["services"]}
    assert not result["success"] and _suite(url)[-1] == ("shifted", False)
    failed = {f["column"] for f in result["failed"]}
    assert {"new_service", "unseen_template_share", "level_psi"} <= failed
    assert rows["billing"]["new_service"] and rows["billing"]["unseen_template_share"] == 1.0
    assert rows["gateway"]["unseen_template_share"] > 0.05 and rows["payments"]["level_psi"] > 0.25
    assert rows["payments"]["template_level_psi"] > 0.25 and rows["payments"]["template_level_worst"]
    assert all(r["template_level_psi"] is None or r["template_level_psi"] < 0.25
               for s, r in rows.items() if s not in ("payments", "billing"))
    assert later["unseen_template_share"]["billing"] == 1.0  # `logintel score` reports it too
    # what a person sees: the command (exit 7 with --check), the summary, the report
    cli = str(Path(sys.executable).with_name("logintel"))
    shown = subprocess.run([cli, "drift"], capture_output=True, text=True, env=os.environ, timeout=300)
    assert shown.returncode == 0 and "drift after run" in shown.stdout and "billing" in shown.stdout
    checked = subprocess.run([cli, "drift", "--check"], capture_output=True, text=True, env=os.environ, timeout=300)
    assert checked.returncode == 7 and '"success": false' in checked.stdout
    from logintel.report import write_report
    from logintel.report.summary import collect

    assert {r["service"] for r in collect(url)["drift"]} >= {"billing", "gateway", "payments"}
    html = write_report(url).read_text()
    assert "Drift against the model" in html and "shifted" in html


def _rows(conn, name: str, params: dict) -> list[tuple]:
    return sorted((tuple("" if v is None else str(v) for v in r) for r in conn.execute(db.sql(name), params)))


def test_the_counts_written_while_scoring_give_the_drift_the_predictions_give(fresh_db, tmp_path):
    """Each chunk's counts (run_counts.py) summed per run and over the history equal the same
    figures computed from the predictions joined with their logs, with chunks that straddle the
    history's last log; a run marked uncounted is judged from the predictions (drift and the
    coverage lag alike)."""
    path = tmp_path / "history.jsonl"
    write_logs(generate(6000, days=2, seed=3, start=START), path)
    ingest_paths([path], url=fresh_db)
    training.train_and_register(fresh_db, seed=0)
    ingest_paths([_later(tmp_path, "later", n=3000)], url=fresh_db)  # scored in the same run
    run = scoring.score_all(fresh_db, run_key="both", chunk_size=1700)
    with db.connect(fresh_db) as conn:
        version, counted, chunks = conn.execute(
            "SELECT r.model_version, r.counted, count(DISTINCT c.chunk_start) FROM logintel.scoring_runs r "
            "JOIN logintel.scoring_run_counts c ON c.scoring_run_id = r.id WHERE r.id = %s "
            "GROUP BY 1, 2", (run["run_id"],)).fetchone()
        assert counted and chunks >= 5
        straddles = conn.execute(
            "SELECT count(*) FROM (SELECT chunk_start FROM logintel.scoring_run_counts GROUP BY 1 "
            "HAVING bool_or(in_history) AND bool_or(NOT in_history)) s").fetchone()[0]
        assert straddles == 1  # one chunk holds the history's last logs and the first later ones
        params = {"run_id": run["run_id"], "model_version": version}
        assert _rows(conn, "drift/current_counted", params) == _rows(conn, "drift/current", params)
        references = []
        for store in ("drift/store_reference_counted", "drift/store_reference"):
            with conn.transaction(force_rollback=True):
                conn.execute("DELETE FROM logintel.drift_reference")
                conn.execute("DELETE FROM logintel.drift_length_reference")
                conn.execute(db.sql(store), params)
                references.append((_rows(conn, "drift/reference", params), _rows(conn, "drift/length_reference", params)))
        assert references[0] == references[1] and references[0][0] and references[0][1]
    def figures() -> list[dict]:
        taken = drift.take_snapshot(fresh_db, run["run_id"]) + coverage.take_snapshot(fresh_db, run["run_id"])
        return [{k: v for k, v in r.items() if k not in ("taken_at", "oldest_unscored_age_s")} for r in taken]

    counted_figures = figures()
    assert any(r.get("lag_seconds") for r in counted_figures)  # the coverage lag came from the counts
    with db.transaction(fresh_db) as conn:
        conn.execute(db.sql("scoring/mark_uncounted"), {"run_id": run["run_id"]})
        conn.execute("DELETE FROM logintel.drift_reference")
        conn.execute("DELETE FROM logintel.drift_length_reference")
    assert figures() == counted_figures
