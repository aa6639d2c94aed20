"""Ingest against a real Postgres: counts add up, nothing is loaded twice, bad records are quarantined."""
from __future__ import annotations

import gzip
import os
import json

import psycopg
import pytest

from logintel.ingest import ingest_paths, scan_landing


def _count(url: str, sql: str):
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchone()[0]


def _lines(n: int, start: int = 0) -> list[str]:
    return [json.dumps({"ts": f"2026-03-01T10:{(i // 60) % 60:02d}:{i % 60:02d}.{i % 1000:03d}Z",
                        "level": ["INFO", "WARN", "ERROR"][i % 3], "service": "api",
                        "message": f"request {i} handled", "user": f"u{i}"}) for i in range(start, start + n)]


def test_counts_add_up_and_bad_records_are_quarantined(fresh_db, tmp_path):
    f = tmp_path / "mixed.jsonl"
    good = _lines(50)
    f.write_text("\n".join(good[:25] + ["{not json", json.dumps({"ts": "yesterday", "level": "INFO",
                                                                   "message": "x"})] + good[25:]) + "\n")
    r = ingest_paths([f], url=fresh_db)
    assert (r.read, r.loaded, r.duplicates, r.quarantined) == (52, 50, 0, 2)
    with psycopg.connect(fresh_db) as conn:
        rows = conn.execute("SELECT source_line, raw, reason FROM logintel.logs_quarantine ORDER BY source_line").fetchall()
        batch = conn.execute("SELECT status, read_count, loaded_count, duplicate_count, quarantined_count "
                             "FROM logintel.ingest_batches WHERE id = %s", (r.batch_id,)).fetchone()
        attrs = conn.execute("SELECT attrs->>'user', source, source_line FROM logintel.logs "
                             "WHERE message = 'request 30 handled'").fetchone()
    assert [row[0] for row in rows] == [26, 27]
    assert bytes(rows[0][1]) == b"{not json"
    assert all(row[2] for row in rows)
    assert batch == ("done", 52, 50, 0, 2)
    assert attrs == ("u30", str(f.resolve()), 33)  # 25 good + 2 bad lines before it


def test_same_file_twice_and_appended_file_load_nothing_twice(fresh_db, tmp_path):
    f = tmp_path / "app.jsonl"
    f.write_text("\n".join(_lines(100)) + "\n")
    first = ingest_paths([f], url=fresh_db)
    again = ingest_paths([f], url=fresh_db)
    assert first.loaded == 100
    assert again.loaded == 0 and again.skipped_files == [str(f.resolve())]
    # The file grows: old lines are recognised as duplicates, only new ones load.
    f.write_text("\n".join(_lines(130)) + "\n")
    grown = ingest_paths([f], url=fresh_db)
    assert (grown.read, grown.loaded, grown.duplicates) == (130, 30, 100)
    # The same content under another name, gzipped: all duplicates.
    gz = tmp_path / "copy.jsonl.gz"
    gz.write_bytes(gzip.compress(f.read_bytes()))
    copy = ingest_paths([gz], url=fresh_db)
    assert (copy.read, copy.loaded, copy.duplicates) == (130, 0, 130)
    assert _count(fresh_db, "SELECT count(*) FROM logintel.logs") == 130


def test_identical_lines_in_one_file_are_all_kept(fresh_db, tmp_path):
    # Two identical records (same ts, level, message) are two events, not a duplicate.
    line = json.dumps({"ts": "2026-03-01T10:00:00Z", "level": "ERROR", "service": "db", "message": "deadlock"})
    f = tmp_path / "twice.jsonl"
    f.write_text(line + "\n" + line + "\n")
    r = ingest_paths([f], url=fresh_db)
    assert (r.loaded, r.duplicates) == (2, 0)


def test_csv_any_column_order_keeps_other_columns(fresh_db, tmp_path):
    f = tmp_path / "ext.csv"
    f.write_text("message,host,level,timestamp\n\"disk full, aborting\",h1,error,2026-02-01 10:00:00\n"
                 "ok,h2,notice,2026-02-01 10:00:01\n")
    r = ingest_paths([f], default_service="ext", url=fresh_db)
    assert r.loaded == 2
    with psycopg.connect(fresh_db) as conn:
        rows = conn.execute("SELECT level, message, service, attrs->>'host' FROM logintel.logs ORDER BY ts").fetchall()
    assert rows == [("ERROR", "disk full, aborting", "ext", "h1"), ("INFO", "ok", "ext", "h2")]


def test_hostile_messages_are_stored_verbatim(fresh_db, tmp_path):
    evil = "'); DROP TABLE logintel.logs; -- <script>alert(1)</script> \x1b[31mred\x1b[0m"
    f = tmp_path / "evil.jsonl"
    f.write_text(json.dumps({"ts": "2026-02-01T00:00:00Z", "level": "INFO", "service": "x", "message": evil}) + "\n")
    assert ingest_paths([f], url=fresh_db).loaded == 1
    assert _count(fresh_db, "SELECT message FROM logintel.logs") == evil


def test_missing_file_is_a_clear_error_and_writes_nothing(fresh_db, tmp_path):
    with pytest.raises(FileNotFoundError, match="no such log file"):
        ingest_paths([tmp_path / "nope.jsonl"], url=fresh_db)
    assert _count(fresh_db, "SELECT count(*) FROM logintel.ingest_batches") == 0


def test_landing_scan_finds_supported_files(tmp_path):
    (tmp_path / "a.jsonl").write_text("")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.log.gz").write_bytes(gzip.compress(b""))
    (tmp_path / "notes.md").write_text("")
    assert [p.name for p in scan_landing(tmp_path)] == ["a.jsonl", "b.log.gz"]


def test_a_batch_left_running_by_a_dead_process_is_marked_failed_by_the_next_ingest(fresh_db, tmp_path):
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        dead, live, young = (conn.execute(
            "INSERT INTO logintel.ingest_batches (sources, started_at) VALUES (%s, now() - %s::interval) RETURNING id",
            (["x.jsonl"], age)).fetchone()[0] for age in ("10 minutes", "10 minutes", "0 seconds"))
        with psycopg.connect(fresh_db) as holder:  # a live process still loading `live`
            holder.execute("SELECT pg_advisory_xact_lock(7412010, %s::int)", (live,))
            path = tmp_path / "a.jsonl"
            path.write_text('{"ts": "2026-01-05T00:00:00Z", "level": "INFO", "message": "hello"}\n')
            ingest_paths([path], url=fresh_db)
            rows = dict(((i, (s, r)) for i, s, r in conn.execute(
                "SELECT id, status, failure_reason FROM logintel.ingest_batches WHERE id = ANY(%s)",
                ([dead, live, young],))))
    assert rows[dead][0] == "failed" and "left running by a process that stopped" in rows[dead][1]
    assert rows[live] == ("running", None)   # its process holds the lock: still loading
    assert rows[young] == ("running", None)  # just opened: its process may not hold the lock yet


def test_a_failed_batch_records_why(fresh_db, tmp_path, monkeypatch):
    import logintel.ingest as ingest

    def boom(*a, **k):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(ingest, "load_records", boom)
    path = tmp_path / "a.jsonl"
    path.write_text('{"ts": "2026-01-05T00:00:00Z", "level": "INFO", "message": "hello"}\n')
    with pytest.raises(RuntimeError):
        ingest_paths([path], url=fresh_db)
    with psycopg.connect(fresh_db) as conn:
        status, reason = conn.execute("SELECT status, failure_reason FROM logintel.ingest_batches").fetchone()
    assert status == "failed" and reason == "RuntimeError: disk on fire"


def _row(url: str, sql: str, params=()) -> tuple:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchone()


def _accounting(url: str, batch_id: int) -> tuple:
    return _row(url, "SELECT read_count, loaded_count, duplicate_count, quarantined_count "
                     "FROM logintel.ingest_batches WHERE id = %s", (batch_id,))


def test_quarantine_keeps_every_byte_and_replay_loads_what_now_parses(fresh_db, tmp_path, monkeypatch):
    """A 2 MB line over the 1 MiB record limit is quarantined whole; after the limit is raised,
    `logintel quarantine replay` loads it (whole, with its file and line) and leaves a garbage line
    where it was; the batches' accounting adds up, and replaying again adds nothing."""
    import subprocess
    import sys

    from logintel import quarantine

    big = {"ts": "2026-01-01T00:00:01Z", "level": "ERROR", "service": "api", "message": "dump " + "y" * 2_000_000}
    path = tmp_path / "big.jsonl"
    path.write_text("\n".join([json.dumps({"ts": "2026-01-01T00:00:00Z", "level": "INFO", "message": "ok"}),
                               json.dumps(big), "not json at all"]) + "\n")
    first = ingest_paths([path], url=fresh_db)
    assert (first.read, first.loaded, first.quarantined) == (3, 1, 2)
    raw, reason = _row(fresh_db, "SELECT raw, reason FROM logintel.logs_quarantine WHERE source_line = 2")
    assert bytes(raw) == json.dumps(big).encode() and "raw kept whole" in reason
    listed = subprocess.run([sys.executable, "-m", "logintel.cli", "quarantine", "list", "--format", "json"],
                            capture_output=True, text=True, env={**os.environ, "LOGINTEL_DATABASE_URL": fresh_db})
    assert listed.returncode == 0, listed.stderr
    assert sorted(r["source_line"] for r in json.loads(listed.stdout)) == [2, 3]
    assert "2 quarantined records" in listed.stderr

    monkeypatch.setenv("LOGINTEL_MAX_RECORD_BYTES", str(4 << 20))  # the cause, fixed
    replayed = quarantine.replay(fresh_db, reason="too long")
    assert (replayed.read, replayed.loaded, replayed.duplicates, replayed.quarantined) == (1, 1, 0, 0)
    assert _accounting(fresh_db, replayed.batch_id) == (1, 1, 0, 0)
    message, source, line = _row(fresh_db, "SELECT message, source, source_line FROM logintel.logs "
                                           "WHERE level = 'ERROR'")
    assert message == big["message"] and (source, line) == (str(path), 2)
    everything = quarantine.replay(fresh_db)  # the garbage line: still garbage, still quarantined
    assert (everything.read, everything.loaded, everything.quarantined) == (1, 0, 1)
    assert _count(fresh_db, "SELECT count(*) FROM logintel.logs_quarantine") == 1
    again = quarantine.replay(fresh_db)
    assert (again.read, again.loaded, again.duplicates, again.quarantined) == (1, 0, 0, 1)
    assert _count(fresh_db, "SELECT count(*) FROM logintel.logs") == 2
    assert _count(fresh_db, "SELECT bool_and(read_count = loaded_count + duplicate_count + quarantined_count) "
                            "FROM logintel.ingest_batches")


def test_replay_of_a_record_already_loaded_counts_a_duplicate(fresh_db, tmp_path, monkeypatch):
    from logintel import quarantine

    path = tmp_path / "a.jsonl"
    line = json.dumps({"ts": "2026-01-01T00:00:00Z", "level": "INFO", "service": "s", "message": "x" * 300})
    path.write_text(line + "\n")
    monkeypatch.setenv("LOGINTEL_MAX_RECORD_BYTES", "200")
    ingest_paths([path], url=fresh_db)
    monkeypatch.setenv("LOGINTEL_MAX_RECORD_BYTES", "1000")
    other = json.dumps({"ts": "2026-01-01T00:00:01Z", "level": "INFO", "service": "s", "message": "other"})
    (tmp_path / "b.jsonl").write_text(line + "\n" + other + "\n")
    assert ingest_paths([tmp_path / "b.jsonl"], url=fresh_db).loaded == 2  # the same record, from another file
    result = quarantine.replay(fresh_db)
    assert (result.read, result.loaded, result.duplicates, result.quarantined) == (1, 0, 1, 0)
    assert _count(fresh_db, "SELECT count(*) FROM logintel.logs_quarantine") == 0


def test_a_load_of_many_chunks_masks_in_a_helper_process_with_the_same_results(fresh_db, tmp_path, monkeypatch):
    """From the second chunk on, messages are masked (and their durations read) in a helper
    process: every stored line's template and duration equal this process's own masking, bad
    records in between keep their place, and the helper is gone when the load ends."""
    from datetime import datetime, timezone

    import numpy as np

    import logintel.ingest as ingest
    from logintel import masking_worker
    from logintel.durations import durations_ms
    from logintel.masking import TemplateMasker
    from logintel.synthetic import generate, write_logs

    monkeypatch.setenv("LOGINTEL_INGEST_CHUNK_ROWS", "1000")
    helpers = []
    real_start = masking_worker.start

    def spy(wanted: bool):
        helper = real_start(wanted)
        helpers.append(helper)
        return helper

    monkeypatch.setattr(masking_worker, "start", spy)
    path = tmp_path / "big.jsonl"
    write_logs(generate(2000, days=1, seed=11, start=datetime(2026, 1, 5, tzinfo=timezone.utc)), path)
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:900] + ["{not json"] + lines[900:]) + "\n")
    r = ingest_paths([path], url=fresh_db)
    assert (r.read, r.loaded, r.quarantined) == (2001, 2000, 1)
    assert len(helpers) == 1 and isinstance(helpers[0], masking_worker.MaskingWorker)
    assert helpers[0]._proc.poll() is not None  # ended with the load
    with psycopg.connect(fresh_db) as conn:
        rows = conn.execute("""SELECT l.message, t.template_key, l.message_duration_ms, l.source_line
                               FROM logintel.logs l JOIN logintel.templates t ON t.id = l.template_id
                               ORDER BY l.id""").fetchall()
    messages = [m for m, _, _, _ in rows]
    assert [k for _, k, _, _ in rows] == TemplateMasker().keys(messages)
    assert np.array_equal(np.array([d for _, _, d, _ in rows], dtype=np.float32), durations_ms(messages),
                          equal_nan=True)
    assert [n for _, _, _, n in rows] == list(range(1, 901)) + list(range(902, 2002))  # file order, line numbers


def test_a_masking_helper_that_dies_fails_the_batch_and_writes_nothing(fresh_db, tmp_path, monkeypatch):
    import logintel.ingest as ingest
    from logintel import masking_worker

    monkeypatch.setenv("LOGINTEL_INGEST_CHUNK_ROWS", "1000")
    real_start = masking_worker.start

    def dead(wanted: bool):
        helper = real_start(wanted)
        helper._proc.kill()
        helper._proc.wait()
        return helper

    monkeypatch.setattr(masking_worker, "start", dead)
    path = tmp_path / "a.jsonl"
    path.write_text("\n".join(_lines(2500)) + "\n")
    with pytest.raises(masking_worker.MaskingWorkerError, match="masking helper process died"):
        ingest_paths([path], url=fresh_db)
    assert _count(fresh_db, "SELECT count(*) FROM logintel.logs") == 0
    assert _count(fresh_db, "SELECT count(*) FROM logintel.log_keys") == 0
    status, reason = _row(fresh_db, "SELECT status, failure_reason FROM logintel.ingest_batches")
    assert status == "failed" and "masking helper process died" in reason
