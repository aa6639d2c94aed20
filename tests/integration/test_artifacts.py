"""Model artifacts never collide: versions are named after row counts, so two databases can train
"the same" version into one models folder; the sha256 in the file name keeps both."""
from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from logintel import db, ml, registry, training
from logintel.evaluate import drop_database
from logintel.ingest import ingest_paths
from logintel.synthetic import generate, write_logs

START = datetime(2026, 1, 5, tzinfo=timezone.utc)


def test_two_databases_with_the_same_version_keep_both_artifacts(fresh_db, server_url, tmp_path, monkeypatch):
    import uuid

    import psycopg

    other = db.with_database(server_url, f"logintel_test_{uuid.uuid4().hex[:12]}")
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(db.database_name(other))))
    try:
        db.upgrade(other)
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("LOGINTEL_MODELS_DIR", "models")  # relative: stored paths must still be absolute
        refs = []
        for url, seed in ((fresh_db, 1), (other, 2)):
            path = tmp_path / f"logs-{seed}.jsonl"
            write_logs(generate(1500, days=1, seed=seed, start=START), path)
            ingest_paths([path], url=url)
            training.train_and_register(url)
            refs.append(registry.require_champion(url))
        assert refs[0].version == refs[1].version  # same row counts, same name
        assert refs[0].artifact_path != refs[1].artifact_path
        assert len(list((tmp_path / "models").glob("*.joblib"))) == 2
        for ref in refs:
            assert Path(ref.artifact_path).is_absolute()
            ml.load(ref.artifact_path, ref.sha256)
        # a process with another working directory (e.g. a Celery worker) loads the champion too
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        code = ("import sys; from logintel import ml, registry; r = registry.require_champion(sys.argv[1]); "
                "ml.load(r.artifact_path, r.sha256); print('loaded', r.version)")
        out = subprocess.run([sys.executable, "-c", code, fresh_db], cwd=elsewhere, capture_output=True, text=True)
        assert out.returncode == 0 and "loaded" in out.stdout, out.stderr[-2000:]
    finally:
        drop_database(other)
