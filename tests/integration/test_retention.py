"""Retention on a real PostgreSQL: logs partitioned by day of ingestion; an old partition is archived
(logs and findings, manifest with sha256), verified and only then dropped with what pointed at its
logs; `logintel ingest` of the archive gives back the same rows; a failed or mismatching archive
blocks the drop; an unpartitioned table with data migrates without losing a row."""
from __future__ import annotations

import gzip
import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest

from airflow_runner import airflow_env, dags_test
from logintel import db, findings, retention, scoring, training
from logintel.cli import EXIT_CHECK, main
from logintel.ingest import STAGE_COLUMNS, _stage_rows, ingest_paths
from logintel.sources import iter_records
from logintel.synthetic import generate, write_logs

START = datetime(2026, 1, 5, tzinfo=timezone.utc)
# The content of a log, independent of where it was loaded from (source, line, id, keys).
CONTENT = """SELECT count(*), md5(string_agg(concat_ws('|', ts, service, level, message, is_anomaly,
                                                    (attrs - 'logintel_source' - 'logintel_source_line')::text),
                                          E'\\n' ORDER BY ts, message, level, service))
             FROM logintel.logs WHERE {where}"""


def _content(url: str, where: str, params: tuple = ()) -> tuple[int, str]:
    with psycopg.connect(url) as conn:
        return conn.execute(CONTENT.format(where=where), params).fetchone()


def _age(url: str, batch_id: int, days: int) -> str:
    """Move one batch's logs `days` back in ingestion time (into that day's partition)."""
    with psycopg.connect(url) as conn:
        conn.execute("SELECT logintel.ensure_log_partitions(now() - make_interval(days => %s), "
                     "now() - make_interval(days => %s))", (days, days))
        conn.execute("UPDATE logintel.logs SET ingested_at = ingested_at - make_interval(days => %s) "
                     "WHERE ingest_batch_id = %s", (days, batch_id))
        return conn.execute("SELECT DISTINCT tableoid::regclass::text FROM logintel.logs WHERE ingest_batch_id = %s",
                            (batch_id,)).fetchone()[0].split(".")[-1]


@pytest.fixture
def aged(fresh_db, tmp_path):
    """Two batches: an old one (40 days back) scored with findings, and a recent one."""
    old, new = tmp_path / "old.jsonl", tmp_path / "new.jsonl"
    write_logs(generate(3000, days=1, seed=3, start=START), old)
    write_logs(generate(1000, days=1, seed=4, start=START + timedelta(days=1)), new)
    first = ingest_paths([old], url=fresh_db)
    training.train_and_register(fresh_db, seed=0)
    with psycopg.connect(fresh_db) as conn:  # a few wrong levels, so the old logs have findings
        conn.execute("UPDATE logintel.logs SET level = 'INFO' WHERE id IN (SELECT id FROM logintel.logs "
                     "WHERE level = 'ERROR' ORDER BY id LIMIT 25)")
    scoring.score_all(fresh_db, run_key="r1")
    findings.record_findings(fresh_db, "r1")
    name = _age(fresh_db, first.batch_id, 40)
    second = ingest_paths([new], url=fresh_db)
    return {"url": fresh_db, "old": first, "new": second, "partition": name, "archive": tmp_path / "archive"}


def test_an_old_partition_is_archived_dropped_and_loads_back_the_same(aged, tmp_path):
    url, part, archive_dir = aged["url"], aged["partition"], aged["archive"]
    before = _content(url, "ingest_batch_id = %s", (aged["old"].batch_id,))
    recent = _content(url, "ingest_batch_id = %s", (aged["new"].batch_id,))
    with psycopg.connect(url) as conn:
        n_findings = conn.execute("SELECT count(*) FROM logintel.dq_findings").fetchone()[0]
        decisions = conn.execute("SELECT count(*) FROM logintel.group_decisions").fetchone()[0]
    assert before[0] == 3000 and n_findings > 0
    assert retention.run(url, days=30, archive_dir=archive_dir, dry_run=True)["partitions"] == [
        {"partition": part, "status": "due"}]
    result = retention.run(url, days=30, archive_dir=archive_dir)
    assert result["dropped"] == 1 and result["failed"] == 0, result
    manifest = json.loads((archive_dir / part / "manifest.json").read_text())
    assert manifest["log_rows"] == 3000 and manifest["finding_rows"] == n_findings
    with gzip.open(archive_dir / part / "findings.jsonl.gz", "rt") as f:
        archived_findings = [json.loads(line) for line in f]
    assert len(archived_findings) == n_findings and {"kind", "log_id", "status", "group_id"} <= set(archived_findings[0])
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT to_regclass(%s)", (f"logintel.{part}",)).fetchone()[0] is None
        assert conn.execute("SELECT count(*) FROM logintel.logs").fetchone()[0] == 1000
        for table in ("ml_predictions", "dq_findings"):  # nothing points at a dropped log
            assert conn.execute(f"SELECT count(*) FROM logintel.{table} t WHERE NOT EXISTS "
                                f"(SELECT 1 FROM logintel.logs l WHERE l.id = t.log_id)").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM logintel.group_decisions").fetchone()[0] == decisions
        assert conn.execute("SELECT count(*) FROM logintel.log_keys").fetchone()[0] == 1000
        assert conn.execute("SELECT status, log_rows FROM logintel.retention_archives").fetchall() == [("dropped", 3000)]
    assert _content(url, "ingest_batch_id = %s", (aged["new"].batch_id,)) == recent
    # running again changes nothing
    assert retention.run(url, days=30, archive_dir=archive_dir)["partitions"] == []
    # the archive loads back: the same rows (count and content)
    reloaded = ingest_paths([archive_dir / part / "logs.jsonl.gz"], url=url)
    assert reloaded.loaded == 3000 and reloaded.quarantined == 0 and reloaded.duplicates == 0
    assert _content(url, "ingest_batch_id = %s", (reloaded.batch_id,)) == before
    with psycopg.connect(url) as conn:
        source = conn.execute("SELECT attrs FROM logintel.logs WHERE ingest_batch_id = %s LIMIT 1",
                              (reloaded.batch_id,)).fetchone()[0]
    assert source["logintel_source"].endswith("old.jsonl") and source["logintel_source_line"] >= 1


def test_the_log_retention_dag_archives_and_drops(aged, tmp_path):
    """The DAG under `airflow dags test`: a dry run changes nothing, a real run drops the old partition."""
    url, part = aged["url"], aged["partition"]
    env = airflow_env(url, tmp_path, LOGINTEL_ARCHIVE_DIR=str(aged["archive"]))
    dags_test("log_retention", env, conf=json.dumps({"days": 30, "dry_run": True}))
    assert part in {p.name for p in retention.partitions(url)}
    dags_test("log_retention", env, conf=json.dumps({"days": 30}))
    assert part not in {p.name for p in retention.partitions(url)}
    assert (aged["archive"] / part / "manifest.json").is_file()
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM logintel.logs").fetchone()[0] == 1000


def test_a_failed_archive_or_a_mismatch_never_drops_the_partition(aged, capsys):
    url, part, archive_dir = aged["url"], aged["partition"], aged["archive"]
    archive_dir.parent.mkdir(parents=True, exist_ok=True)
    archive_dir.write_text("a file where the archive folder should be")  # the archive cannot be written
    assert main(["retention", "--days", "30", "--archive-dir", str(archive_dir)]) == EXIT_CHECK
    out = json.loads(capsys.readouterr().out)
    assert out["failed"] == 1 and out["partitions"][0]["status"] == "failed"
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM logintel.logs").fetchone()[0] == 4000
        status, reason = conn.execute("SELECT status, reason FROM logintel.retention_archives").fetchone()
    assert status == "failed" and reason
    # a good archive, then the partition changes before the drop (a late row): the counts differ
    archive_dir.unlink()
    partition = next(p for p in retention.partitions(url) if p.name == part)
    assert retention.archive(url, partition, archive_dir)["status"] == "archived"
    with psycopg.connect(url) as conn:
        conn.execute(f"INSERT INTO logintel.{part} (ts, service, source, source_line, level, message, attrs, "
                     "ingest_batch_id, ingested_at, dedupe_key) SELECT ts, service, source, source_line + 100000, "
                     "level, message, attrs, ingest_batch_id, ingested_at, gen_random_uuid() "
                     f"FROM logintel.{part} LIMIT 1")
    dropped = retention.drop(url, partition)
    assert dropped["status"] == "failed" and "3001 rows, its archive 3000" in dropped["reason"]
    # a tampered archive file: its sha256 no longer matches
    with psycopg.connect(url) as conn:
        conn.execute(f"DELETE FROM logintel.{part} WHERE source_line > 100000")
    assert retention.archive(url, partition, archive_dir)["status"] == "archived"
    logs_file = archive_dir / part / "logs.jsonl.gz"
    logs_file.write_bytes(gzip.compress(b"\n".join(gzip.decompress(logs_file.read_bytes()).splitlines()[:-1])))
    assert "sha256" in retention.drop(url, partition)["reason"]
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM logintel.logs").fetchone()[0] == 4000
        assert conn.execute("SELECT count(*) FROM logintel.dq_findings").fetchone()[0] > 0


def test_an_unpartitioned_table_with_data_migrates_without_losing_a_row(server_url, tmp_path):
    """A database at migration 016 (logs a plain table, the old merge), with logs, predictions and
    findings, is upgraded: every row and id stays, the views work, the same records are duplicates."""
    from conftest import _new_database
    from logintel.evaluate import drop_database

    url = _new_database(server_url)
    try:
        with psycopg.connect(url) as conn:
            conn.execute("CREATE SCHEMA logintel")
            conn.execute("CREATE TABLE logintel.schema_migrations (version text PRIMARY KEY, "
                         "applied_at timestamptz NOT NULL DEFAULT now())")
            for version, text in db.migrations():
                if version >= "017":
                    break
                conn.execute(text)
                conn.execute("INSERT INTO logintel.schema_migrations (version) VALUES (%s)", (version,))
            path = tmp_path / "app.jsonl"
            write_logs(generate(2000, days=1, seed=3, start=START), path)
            batch = conn.execute("INSERT INTO logintel.ingest_batches (sources) VALUES ('{x}') RETURNING id").fetchone()[0]
            conn.execute(db.sql("ingest/stage"))
            tally = {"read": 0}
            db.copy_rows(conn, "ingest_stage", STAGE_COLUMNS, _stage_rows(iter_records(path), str(path), tally, None))
            conn.execute("""INSERT INTO logintel.logs (ts, service, source, source_line, level, message, is_anomaly,
                                                       attrs, ingest_batch_id, dedupe_key)
                            SELECT ts, service, source, source_line, level, message, is_anomaly, attrs, %s, dedupe_key
                            FROM ingest_stage WHERE error IS NULL ON CONFLICT (dedupe_key) DO NOTHING""", (batch,))
            conn.execute("UPDATE logintel.ingest_batches SET status = 'done', read_count = 2000, loaded_count = 2000")
            before = conn.execute("SELECT count(*), min(id), max(id), sum(id) FROM logintel.logs").fetchone()
        content = _content(url, "true")
        assert before[0] == 2000
        applied = db.upgrade(url)
        assert "017_partitioned_logs" in applied
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT relkind FROM pg_class WHERE oid = 'logintel.logs'::regclass").fetchone()[0] == "p"
            assert conn.execute("SELECT count(*), min(id), max(id), sum(id) FROM logintel.logs").fetchone() == before
            assert conn.execute("SELECT count(*) FROM logintel.log_keys").fetchone()[0] == 2000
            conn.execute("SELECT count(*) FROM logintel.v_prediction_checks").fetchone()  # the views are back
            conn.execute("SELECT count(*) FROM logintel.v_quality_batch").fetchone()
        assert _content(url, "true") == content
        copy = tmp_path / "same_records.jsonl"
        shutil.copy(path, copy)
        again = ingest_paths([copy], url=url)
        assert again.loaded == 0 and again.duplicates == 2000
        new = ingest_paths([_more(tmp_path)], url=url)  # new ids continue after the old ones
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT min(id) FROM logintel.logs WHERE ingest_batch_id = %s",
                                (new.batch_id,)).fetchone()[0] > before[2]
    finally:
        drop_database(url)


def _more(tmp_path: Path) -> Path:
    path = tmp_path / "more.jsonl"
    write_logs(generate(100, days=1, seed=9, start=START + timedelta(days=3)), path)
    return path
