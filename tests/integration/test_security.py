"""Credentials never leak into logs, GX files, Data Docs, reports or the database."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import psycopg

from logintel import db, findings, scoring, training
from logintel.ingest import ingest_paths
from logintel.quality.run import pending_batches, validate_batches
from logintel.report import write_report
from logintel.synthetic import generate, write_logs

PASSWORD = "Zq8-not-a-real-pw-4711"  # planted-secret


def _with_password(url: str) -> str:
    # The test server trusts local connections, so a password in the URL is accepted and ignored.
    scheme, rest = url.split("://", 1)
    user, host = rest.split("@", 1)
    return f"{scheme}://{user}:{PASSWORD}@{host}"


def test_password_never_appears_in_outputs(fresh_db, tmp_path, monkeypatch, caplog):
    url = _with_password(fresh_db)
    monkeypatch.setenv("LOGINTEL_DATABASE_URL", url)
    path = tmp_path / "app.jsonl"
    write_logs(generate(3000, days=1, seed=5), path)
    caplog.set_level(logging.DEBUG)
    ingest_paths([path], url=url)
    validate_batches(url, pending_batches(url), "sec")
    training.train_and_register(url)
    scoring.score_all(url, run_key="sec")
    findings.record_findings(url, "sec")
    report = write_report(url)

    # Every place is scanned, and every scanned place has content (a leak check over nothing passes).
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    gx_files = [p for p in files if "gx" in p.relative_to(tmp_path).parts]
    assert any(p.name == "great_expectations.yml" for p in gx_files), "the GX project was written"
    assert any(p.suffix == ".html" and "data_docs" in str(p) for p in gx_files), "Data Docs were built"
    assert any(p.suffix == ".json" and "validations" in str(p) for p in gx_files), "validation results were kept"
    assert any(p.suffix == ".joblib" for p in files), "the model artifact was written"
    leaks = [str(p) for p in files if PASSWORD.encode() in p.read_bytes()]
    assert leaks == [], f"password written to {leaks}"
    assert report.stat().st_size > 10_000 and PASSWORD not in report.read_text()
    # every stage logs what it did and where (the database URL, masked): the scan has the product's own lines
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("logintel")]
    for stage in ("ingest batch", "trained on", "scoring run", "findings run"):
        assert any(stage in m and "postgresql://" in m for m in ours), (stage, ours)
    assert PASSWORD not in caplog.text
    summary = subprocess.run([sys.executable, "-m", "logintel.cli", "summary", "--json"], capture_output=True,
                             text=True, env={**os.environ, "LOGINTEL_DATABASE_URL": url})
    assert summary.returncode == 0 and '"logs_stored"' in summary.stdout, summary.stderr[-2000:]
    assert PASSWORD not in summary.stdout + summary.stderr
    with psycopg.connect(fresh_db) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'logintel' "
            "AND table_type = 'BASE TABLE'")]
        assert len(tables) >= 10
        for table in tables:
            dump = conn.execute(f"SELECT coalesce(string_agg(t::text, ''), '') FROM logintel.{table} t").fetchone()[0]
            assert PASSWORD not in dump, table
        for table in ("dq_runs", "model_versions", "ingest_batches", "scoring_runs", "logs", "ml_predictions"):
            assert conn.execute(f"SELECT count(*) FROM logintel.{table}").fetchone()[0] > 0, f"{table} is empty"


def test_cli_masks_the_password(fresh_db, monkeypatch):
    env = {"LOGINTEL_DATABASE_URL": _with_password(fresh_db), "PATH": str(Path(sys.executable).parent)}
    out = subprocess.run([sys.executable, "-m", "logintel.cli", "db", "url"], env=env,
                         capture_output=True, text=True, check=True).stdout
    assert PASSWORD not in out and ":***@" in out


def test_connection_errors_do_not_show_the_password():
    bad = f"postgresql://nobody:{PASSWORD}@127.0.0.1:1/none"  # planted-secret
    try:
        db.connect(bad).close()
    except psycopg.OperationalError as exc:
        assert PASSWORD not in str(exc)
        assert "127.0.0.1" in str(exc)
    else:
        raise AssertionError("connecting to port 1 should fail")
