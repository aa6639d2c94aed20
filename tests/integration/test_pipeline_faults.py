"""Scoring and findings under faults: bad artifacts, crashes, restarts, concurrent runs, re-runs."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import psycopg
import pytest

from db_checks import partial_chunks
from logintel import corrupt, db, findings, registry, scoring, training
from logintel.ingest import ingest_paths
from logintel.synthetic import generate, write_logs

N_LOGS = 4000


def _q(url: str, sql: str, *params):
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchone()[0]


@pytest.fixture(scope="module")
def trained(module_db, tmp_path_factory):
    """A database with ingested logs, injected issues and a champion model; nothing scored."""
    path = tmp_path_factory.mktemp("logs") / "app.jsonl"
    # a fixed time anchor: anchored on "now", the episodes (and whether any anomaly verdict is made)
    # changed with the hour the suite ran
    write_logs(generate(N_LOGS, days=1, seed=11, start=datetime(2026, 1, 5, tzinfo=timezone.utc)), path)
    ingest_paths([path], url=module_db)
    corrupt.inject(module_db, rate=0.03, seed=2)
    training.train_and_register(module_db)
    return module_db


@pytest.fixture
def clean(trained):
    """Each test starts with no predictions and no findings."""
    with psycopg.connect(trained) as conn:
        conn.execute("DELETE FROM logintel.dq_findings")
        conn.execute("DELETE FROM logintel.ml_predictions")
        conn.execute("DELETE FROM logintel.scoring_runs")
    return trained


def _predictions(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT log_id, model_version, template_key, predicted_level, round(confidence::numeric, 4), "
                            "predicted_anomaly FROM logintel.ml_predictions ORDER BY log_id").fetchall()


def test_missing_or_tampered_artifact_is_a_clear_error_and_writes_nothing(clean, tmp_path):
    version, path, sha = registry.require_champion(clean).as_dict().values()
    artifact = Path(path)
    original = artifact.read_bytes()
    try:
        artifact.write_bytes(original + b"tampered")
        with pytest.raises(Exception, match=str(artifact.name)) as err:
            scoring.score_all(clean, run_key="tampered")
        assert "sha256" in str(err.value).lower() or "checksum" in str(err.value).lower()
        artifact.unlink()
        with pytest.raises(Exception, match=str(artifact.name)):
            scoring.score_all(clean, run_key="missing")
    finally:
        artifact.write_bytes(original)
    assert _q(clean, "SELECT count(*) FROM logintel.ml_predictions") == 0


def test_rescoring_and_refinding_three_times_changes_nothing(clean):
    for i in range(3):
        scoring.score_all(clean, run_key=f"again-{i}", partitions=2, chunk_size=1000)
        findings.record_findings(clean, f"again-{i}")
        if i == 0:
            first = (_predictions(clean), _q(clean, "SELECT count(*) FROM logintel.dq_findings"))
    assert first[0] and len(first[0]) == N_LOGS
    # a run's `scored` comes from the counts its chunks wrote (two partitions, chunks of 1,000)
    assert _q(clean, "SELECT scored FROM logintel.scoring_runs WHERE run_key = 'again-0' AND counted") == N_LOGS
    assert (_predictions(clean), _q(clean, "SELECT count(*) FROM logintel.dq_findings")) == first
    # what GX validated last: this run's snapshot of the checks, one row per scored log (not three runs' worth)
    assert _q(clean, "SELECT count(*) FROM logintel.prediction_checks") == N_LOGS
    assert _q(clean, "SELECT count(level_issue) + count(anomaly_issue) FROM logintel.prediction_checks") == first[1] > 0


def _findings(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT log_id, kind, suggested_value, model_version FROM logintel.dq_findings "
                            "ORDER BY 1, 2").fetchall()


def test_two_scoring_runs_at_once_make_no_duplicates(clean):
    """A manual and a scheduled run score the same logs at the same time. The test holds the
    advisory lock of the first chunk until BOTH runs wait on it, so they provably overlap on
    the same rows; then every log is scored exactly once and the findings equal a single run's."""
    scoring.score_all(clean, run_key="single")
    findings.record_findings(clean, "single")
    reference_predictions, reference_findings = _predictions(clean), _findings(clean)
    with psycopg.connect(clean) as conn:
        conn.execute("DELETE FROM logintel.dq_findings")
        conn.execute("DELETE FROM logintel.ml_predictions")
        conn.execute("DELETE FROM logintel.scoring_runs")
        first_id = conn.execute("SELECT min(id) FROM logintel.logs").fetchone()[0]
    version = registry.require_champion(clean).version
    key = scoring._chunk_lock(version, first_id // 500)
    errors: list[BaseException] = []

    def run(run_key: str) -> None:
        try:
            scoring.score_all(clean, run_key=run_key, partitions=2, chunk_size=500)
            findings.record_findings(clean, run_key)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    with psycopg.connect(clean, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (key,))
        threads = [threading.Thread(target=run, args=(k,)) for k in ("manual", "scheduled")]
        for t in threads:
            t.start()
        deadline = time.time() + 120
        waiting = 0
        while time.time() < deadline:
            waiting = holder.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                "AND ((classid::bigint << 32) | objid::bigint) = (%s::bigint & x'ffffffffffffffff'::bigint)",
                (key,)).fetchone()[0]
            if waiting == 2 or errors:
                break
            time.sleep(0.05)
        holder.execute("SELECT pg_advisory_unlock(%s)", (key,))
        for t in threads:
            t.join()
    assert not errors, errors
    assert waiting == 2, "both runs must wait on the same chunk: they overlap on the same rows"
    assert _q(clean, "SELECT count(*) FROM logintel.ml_predictions") == N_LOGS
    assert _q(clean, "SELECT count(DISTINCT log_id) FROM logintel.ml_predictions") == N_LOGS
    assert _predictions(clean) == reference_predictions
    assert _findings(clean) == reference_findings
    # the run that upserted the other's chunk may have counted rows twice: its drift and coverage
    # come from the predictions, not from its counts (run_counts.py)
    assert _q(clean, "SELECT count(*) FROM logintel.scoring_runs WHERE NOT counted") >= 1
    # and its `scored` is its predictions, counted in ml_predictions; each run's is what it wrote
    with psycopg.connect(clean) as conn:
        runs = conn.execute("SELECT r.counted, r.scored, (SELECT count(*) FROM logintel.ml_predictions p "
                            "WHERE p.scoring_run_id = r.id) FROM logintel.scoring_runs r").fetchall()
    assert all(scored == attributed for counted, scored, attributed in runs if not counted), runs
    assert sum(scored for _, scored, _ in runs) >= N_LOGS, runs


def test_gx_failure_after_scoring_keeps_predictions_and_rerun_adds_no_duplicates(clean, monkeypatch):
    scoring.score_all(clean, run_key="gx-fail")
    import logintel.quality.run as gxrun

    def boom(*args, **kwargs):
        raise RuntimeError("GX is down")

    monkeypatch.setattr(gxrun, "validate_findings", boom)
    with pytest.raises(RuntimeError, match="GX is down"):
        findings.record_findings(clean, "gx-fail")
    assert _q(clean, "SELECT count(*) FROM logintel.ml_predictions") == N_LOGS
    assert _q(clean, "SELECT count(*) FROM logintel.dq_findings") == 0
    monkeypatch.undo()
    first = findings.record_findings(clean, "gx-fail")
    second = findings.record_findings(clean, "gx-fail")
    assert first.new_findings > 0 and second.new_findings == 0


SCORE_SCRIPT = """
import sys
from logintel import scoring
url, key = sys.argv[1], sys.argv[2]
scoring.score_all(url, run_key=key, partitions=1, chunk_size=200)
"""


def test_sigkill_mid_write_then_rerun_gives_the_clean_result(clean, tmp_path):
    scoring.score_all(clean, run_key="reference-run")
    reference = _predictions(clean)
    with psycopg.connect(clean) as conn:
        conn.execute("DELETE FROM logintel.ml_predictions")
        conn.execute("DELETE FROM logintel.scoring_runs")
        first_id = conn.execute("SELECT min(id) FROM logintel.logs").fetchone()[0]
    # The kill lands at a controlled point, not in a race: the test holds the advisory lock of the
    # third chunk, so the process commits two chunks, then waits there with the third in hand.
    key = scoring._chunk_lock(registry.require_champion(clean).version, first_id // 200 + 2)
    with psycopg.connect(clean, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (key,))
        proc = subprocess.Popen([sys.executable, "-c", SCORE_SCRIPT, clean, "killed"], env=dict(os.environ))
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None and not holder.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").fetchone()[0]:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        holder.execute("SELECT pg_advisory_unlock(%s)", (key,))
    partial = _q(clean, "SELECT count(*) FROM logintel.ml_predictions")
    assert partial == _q(clean, "SELECT count(*) FROM logintel.logs WHERE id < %s", (first_id // 200 + 2) * 200), \
        "exactly the two chunks before the held one are committed"
    assert partial_chunks(clean, 200) == 0, "only whole chunks are committed"
    scoring.score_all(clean, run_key="after-kill")
    assert _predictions(clean) == reference


@pytest.fixture
def restores_champion(trained):
    """Tests that train on the shared database give the champion back: later tests must not
    inherit a model another test promoted (the `clean` fixture keeps model_versions)."""
    before = registry.require_champion(trained).version
    yield trained
    with db.transaction(trained) as conn:
        conn.execute("UPDATE logintel.model_versions SET status = 'retired' WHERE status = 'champion'")
        conn.execute("UPDATE logintel.model_versions SET status = 'champion' WHERE version = %s", (before,))


def test_training_on_a_sample_when_the_table_is_large(restores_champion):
    trained = restores_champion
    result = training.train_and_register(trained, seed=7, max_rows=1000)
    assert result.metrics["training_rows"] <= 1000
    with psycopg.connect(trained) as conn:
        assert conn.execute("SELECT training_rows FROM logintel.model_versions WHERE version = %s",
                            (result.version,)).fetchone()[0] <= 1000


def test_confidence_threshold_filters_level_findings(clean):
    scoring.score_all(clean, run_key="conf")
    champion = registry.require_champion(clean)
    with db.transaction(clean) as conn:
        everything = findings.compute_verdicts(conn, champion, 0.0)
        assert everything > 0
        assert findings.compute_verdicts(conn, champion, 1.01) == 0


def test_anomaly_findings_have_their_own_confidence_cut(clean, monkeypatch):
    """Anomaly verdicts are cut by LOGINTEL_ANOMALY_CONFIDENCE (calibrated, default 0.5), level
    verdicts by LOGINTEL_CONFIDENCE: a level cut above 1 keeps the anomaly verdicts."""
    scoring.score_all(clean, run_key="conf-anomaly")
    champion = registry.require_champion(clean)
    with db.transaction(clean) as conn:
        findings.compute_verdicts(conn, champion, 0.0, 0.0)
        confidences = [c for (c,) in conn.execute("SELECT confidence FROM logintel.anomaly_verdicts "
                                                  "WHERE model_version = %s", (champion.version,))]
        assert confidences and min(confidences) < 1.0
        assert findings.compute_verdicts(conn, champion, 1.01, 0.5) == sum(c >= 0.5 for c in confidences) > 0
        assert findings.compute_verdicts(conn, champion, 1.01, 1.01) == 0
    monkeypatch.setenv("LOGINTEL_ANOMALY_CONFIDENCE", "1.0")
    assert findings.record_findings(clean, "anomaly-cut-1").by_kind.get("missed_anomaly", 0) == 0
    monkeypatch.delenv("LOGINTEL_ANOMALY_CONFIDENCE")
    assert findings.record_findings(clean, "anomaly-cut-default").by_kind.get("missed_anomaly", 0) > 0


def test_a_scoring_run_left_running_by_a_dead_dag_run_is_marked_failed_by_the_next(clean):
    """A run whose DAG run died (started long ago, no prediction since, never finished) is marked
    failed with the reason when the next run starts; a live run, and a run that did finish, are not."""
    dead = scoring.start_run(clean, "dead")
    live = scoring.start_run(clean, "live")
    done = scoring.start_run(clean, "done")
    scoring.finish_run(clean, done)
    with psycopg.connect(clean) as conn:
        conn.execute("UPDATE logintel.scoring_runs SET started_at = now() - interval '3 hours' "
                     "WHERE run_key IN ('dead', 'done')")
    scoring.start_run(clean, "next")
    with psycopg.connect(clean) as conn:
        states = dict(conn.execute("SELECT run_key, status FROM logintel.scoring_runs").fetchall())
        reason = conn.execute("SELECT failure_reason FROM logintel.scoring_runs WHERE run_key = 'dead'").fetchone()[0]
    assert states == {"dead": "failed", "live": "running", "done": "done", "next": "running"}, states
    assert "no prediction written for 60 minutes" in reason and "next" in reason
    assert dead.run_id and live.run_id
    # a run marked stale that does finish after all is done, not failed
    scoring.finish_run(clean, dead)
    with psycopg.connect(clean) as conn:
        assert conn.execute("SELECT status, failure_reason FROM logintel.scoring_runs WHERE run_key = 'dead'"
                            ).fetchone() == ("done", None)


def test_the_findings_snapshot_is_the_view_of_every_prediction(clean):
    """sql/findings/snapshot_checks.sql takes only the predictions of templates with a verdict
    through v_prediction_checks and the rest as ids with no issue: the snapshot GX validates must
    still be the view, row for row, with both kinds of issue among its rows."""
    scoring.score_all(clean, run_key="snapshot")
    findings.record_findings(clean, "snapshot")
    with psycopg.connect(clean) as conn:
        snapshot = conn.execute("SELECT id, level_issue, anomaly_issue FROM logintel.prediction_checks "
                                "ORDER BY id").fetchall()
        view = conn.execute("SELECT id, level_issue, anomaly_issue FROM logintel.v_prediction_checks "
                            "ORDER BY id").fetchall()
    assert len(snapshot) == N_LOGS and snapshot == view
    assert any(r[1] for r in snapshot) and any(r[2] for r in snapshot)


# Every scored log counted, then the hot buckets kept: what sql/findings/anomaly_window_stats.sql
# computed before it counted only the logs in the runs of hot buckets.
_ALL_WINDOW_STATS = """
WITH g AS (
    SELECT coalesce(l.service, '') AS service, p.template_key, coalesce(l.attrs ->> 'host', '') AS host,
           date_bin(make_interval(mins => %(bucket_minutes)s::integer), l.ts, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS bucket,
           coalesce(p.duration_ms > d.slow_ms, false) AS slow,
           count(*) FILTER (WHERE l.is_anomaly) AS flagged, count(*) FILTER (WHERE NOT l.is_anomaly) AS unflagged,
           count(*) FILTER (WHERE l.id > mv.max_log_id) AS recent, coalesce(l.level, '') AS level
    FROM logintel.ml_predictions p
    JOIN logintel.model_versions mv ON mv.version = p.model_version
    JOIN logintel.logs l ON l.id = p.log_id
    LEFT JOIN logintel.duration_limits d ON d.model_version = p.model_version AND d.service = coalesce(l.service, '')
                                        AND d.template_key = p.template_key
    WHERE p.model_version = %(model_version)s AND l.ts IS NOT NULL AND l.is_anomaly IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5, 9
), hot AS (
    SELECT DISTINCT bucket + d * make_interval(mins => %(bucket_minutes)s::integer) AS bucket
    FROM g CROSS JOIN generate_series(-%(window)s::integer, %(window)s::integer) AS d WHERE flagged > 0
)
SELECT g.service, g.template_key, g.host, g.bucket, g.slow, g.flagged, g.unflagged, g.recent, g.level FROM g JOIN hot USING (bucket)
"""


def test_the_window_statistics_of_hot_runs_equal_counting_every_scored_log(clean):
    from logintel import episodes

    scoring.score_all(clean, run_key="windows")
    findings.record_findings(clean, "windows")
    params = episodes.sql_params(registry.require_champion(clean).version)
    with psycopg.connect(clean) as conn:
        fast = sorted(conn.execute(db.sql("findings/anomaly_window_stats"), params).fetchall())
        every = sorted(conn.execute(_ALL_WINDOW_STATS, params).fetchall())
    assert fast == every and sum(r[5] for r in fast) > 0 and len({r[3] for r in fast}) > 2 * episodes.WINDOW + 1


def test_the_read_hashes_the_chunks_scored_ids_even_when_the_statistics_say_there_are_none(clean):
    """Statistics taken on an empty ml_predictions (a VACUUM after a DELETE) once made the read
    scan the whole table per log while the run's writer filled it: minutes per chunk. The chunk's
    scored ids are one hashed set whatever the statistics say."""
    from logintel import frames

    with psycopg.connect(clean, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE logintel.ml_predictions")
        conn.execute("SET enable_mergejoin = off")
        query = psycopg.ClientCursor(conn).mogrify(
            db.sql("scoring/logs_selected"),
            frames.logs_query_params(1, 200_000, registry.require_champion(clean).version))
        plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + query))
    assert "hashed SubPlan" in plan and "NOT (SubPlan" not in plan, plan


def test_findings_beyond_the_ids_gx_returns_are_read_in_sql_and_are_the_same(clean, monkeypatch):
    """GX returns at most LOGINTEL_GX_MAX_IDS failing ids per expectation (its results stay bounded
    as the logs grow); the rest come from the same predicate in SQL: the findings are the same."""
    scoring.score_all(clean, run_key="all-ids")
    findings.record_findings(clean, "all-ids")
    reference = _findings(clean)
    assert sum(kind.startswith("level") for _, kind, _, _ in reference) > 3  # more than GX will return
    with psycopg.connect(clean) as conn:
        conn.execute("DELETE FROM logintel.dq_findings")
    monkeypatch.setenv("LOGINTEL_GX_MAX_IDS", "3")
    from logintel.quality import run as gx_run

    returned: list = []
    validate = gx_run.validate_findings
    monkeypatch.setattr(gx_run, "validate_findings", lambda *a, **k: returned.append(validate(*a, **k)) or returned[-1])
    findings.record_findings(clean, "three-ids")
    assert _findings(clean) == reference
    (run,) = returned
    assert 0 < len(run.unexpected_ids["level_issue"]) <= 3 < run.unexpected_counts["level_issue"]
