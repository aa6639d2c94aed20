"""Scoring and findings under faults: bad artifacts, crashes, restarts, concurrent runs, re-runs."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
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
    write_logs(generate(N_LOGS, days=1, seed=11), path)
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
    assert (_predictions(clean), _q(clean, "SELECT count(*) FROM logintel.dq_findings")) == first


def test_two_scoring_runs_at_once_make_no_duplicates(clean):
    errors: list[BaseException] = []

    def run(key: str) -> None:
        try:
            scoring.score_all(clean, run_key=key, partitions=2, chunk_size=500)
            findings.record_findings(clean, key)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(k,)) for k in ("manual", "scheduled")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert _q(clean, "SELECT count(*) FROM logintel.ml_predictions") == N_LOGS
    assert _q(clean, "SELECT count(DISTINCT log_id) FROM logintel.ml_predictions") == N_LOGS
    assert _q(clean, "SELECT count(*) FROM (SELECT log_id, kind FROM logintel.dq_findings "
                     "GROUP BY 1, 2 HAVING count(*) > 1) d") == 0


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
    proc = subprocess.Popen([sys.executable, "-c", SCORE_SCRIPT, clean, "killed"], env=dict(os.environ))
    deadline = time.time() + 120
    while _q(clean, "SELECT count(*) FROM logintel.ml_predictions") == 0 and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = _q(clean, "SELECT count(*) FROM logintel.ml_predictions")
    assert 0 < partial < N_LOGS, "the kill should land mid-run"
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
