"""Extract from a PostgreSQL table in place (issue 14): a real source database in the shape of the
replaced system's `log_entries`, read by a role that may only SELECT, incrementally by its key."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from db_checks import assert_catalog_exact
from logintel import db
from logintel.evaluate import drop_database
from logintel.extract import ExtractError, TableSource, extract, mapping
from logintel.synthetic import generate

LOG_ENTRIES = """
CREATE TABLE public.log_entries (
    id               bigserial PRIMARY KEY,
    "timestamp"      timestamptz,
    level            text,
    message          text,
    service          text,
    host             text,
    is_anomaly       boolean,
    anomaly_type     text,
    request_id       text,
    http_status      integer,
    endpoint         text,
    response_time_ms integer,
    structured_data  jsonb
)"""


def fill_log_entries(url: str, n: int, seed: int, start: datetime) -> None:
    """`n` generated logs as rows of the seed's `log_entries` table (the generator's extra fields too)."""
    rows = []
    for r in generate(n, days=1, seed=seed, start=start):
        rows.append((r["ts"], r["level"], r["message"], r["service"], r["host"], r["is_anomaly"],
                     r.get("_episode"), r["trace_id"], 200, "/api/v1/x", 12, json.dumps({"template": r["_template"]})))
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.executemany('INSERT INTO public.log_entries ("timestamp", level, message, service, host, is_anomaly, '
                        "anomaly_type, request_id, http_status, endpoint, response_time_ms, structured_data) "
                        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", rows)


@pytest.fixture
def source(server_url):
    """A source database on the same server with `log_entries`, and a role that may only read it."""
    url = db.with_database(server_url, f"logintel_test_src_{uuid.uuid4().hex[:10]}")
    role = f"reader_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db.database_name(url)}"')
        conn.execute(f"CREATE ROLE {role} LOGIN")
    with psycopg.connect(url) as conn:
        conn.execute(LOG_ENTRIES)
        conn.execute(f"GRANT SELECT ON public.log_entries TO {role}")
    reader = url.replace("://postgres@", f"://{role}@", 1) if "://postgres@" in url else url
    yield {"url": url, "reader": reader}
    drop_database(url)
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"DROP ROLE IF EXISTS {role}")


def _logs(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT source_line, level, message, attrs ->> 'host', attrs ->> 'request_id' "
                            "FROM logintel.logs ORDER BY source_line").fetchall()


def test_extract_reads_new_rows_once_through_a_read_only_role(fresh_db, source):
    fill_log_entries(source["url"], 1200, seed=3, start=datetime(2026, 1, 5, tzinfo=timezone.utc))
    table = TableSource(url=source["reader"], table="log_entries", columns=mapping("log_entries"))
    first = extract(fresh_db, table, chunk_rows=500)
    assert [r.read for r in first] == [500, 500, 200]  # one batch per chunk
    assert sum(r.loaded for r in first) == 1200 and not any(r.quarantined for r in first)
    logs = _logs(fresh_db)
    assert len(logs) == 1200 and logs[0][0] == 1 and logs[0][3] and logs[0][4]  # host and extra columns in attrs
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("SELECT DISTINCT source FROM logintel.logs").fetchall() == [(table.name,)]
        assert "postgres://" in table.name and table.name.endswith("/public.log_entries") and "@" not in table.name
        assert conn.execute("SELECT last_key, rows_read FROM logintel.extract_watermarks").fetchone() == (1200, 1200)
    assert extract(fresh_db, table) == []  # nothing new: nothing read, no empty batch left behind
    # rows added between runs are picked up, and only they
    fill_log_entries(source["url"], 300, seed=4, start=datetime(2026, 1, 6, tzinfo=timezone.utc))
    again = extract(fresh_db, table)
    assert [(r.read, r.loaded, r.duplicates) for r in again] == [(300, 300, 0)]
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("SELECT count(*), count(DISTINCT attrs ->> 'source_key') FROM logintel.logs").fetchone() \
            == (1500, 1500)
        assert conn.execute("SELECT bool_and(read_count = loaded_count + duplicate_count + quarantined_count) "
                            "FROM logintel.ingest_batches").fetchone()[0]
    assert assert_catalog_exact(fresh_db) == 1500  # each row stored with its template's catalog id
    # the role could not have written anything; nothing was written by us either
    with psycopg.connect(source["url"]) as conn:
        assert conn.execute("SELECT count(*) FROM public.log_entries").fetchone()[0] == 1500
    with pytest.raises(psycopg.Error):
        with psycopg.connect(source["reader"]) as conn:
            conn.execute("DELETE FROM public.log_entries")


def test_bad_rows_are_quarantined_with_their_values_and_reason(fresh_db, source):
    with psycopg.connect(source["url"]) as conn:
        conn.execute("""INSERT INTO public.log_entries ("timestamp", level, message, service, host) VALUES
            ('2026-01-05 10:00:00+00', 'INFO', 'fine', 'api', 'h1'),
            ('2026-01-05 10:00:01+00', NULL, 'no level', 'api', 'h1'),
            ('2026-01-05 10:00:02+00', 'LOUD', 'odd level', 'api', 'h1'),
            ('2026-01-05 10:00:03+00', 'ERROR', NULL, 'api', 'h1'),
            ('3000-01-01 00:00:00+00', 'WARN', 'far future', 'api', 'h1'),
            (NULL, 'WARN', 'no time', 'api', 'h1')""")
    table = TableSource(url=source["url"], table="public.log_entries", columns=mapping("log_entries"))
    (batch,) = extract(fresh_db, table)
    assert (batch.read, batch.loaded, batch.quarantined) == (6, 1, 5)
    with psycopg.connect(fresh_db) as conn:
        rows = conn.execute("SELECT source_line, reason, convert_from(raw, 'UTF8') FROM logintel.logs_quarantine "
                            "ORDER BY source_line").fetchall()
    reasons = {line: reason for line, reason, _ in rows}
    assert reasons[2] == "missing level" and "unknown level 'LOUD'" in reasons[3]
    assert reasons[4] == "empty message" and "out of range" in reasons[5] and reasons[6] == "missing timestamp"
    assert json.loads(rows[0][2])["message"] == "no level"  # the row's values are kept


def test_an_oversized_row_is_quarantined_whole(fresh_db, source, monkeypatch):
    monkeypatch.setenv("LOGINTEL_MAX_RECORD_BYTES", "2000")
    with psycopg.connect(source["url"]) as conn:
        conn.execute("""INSERT INTO public.log_entries ("timestamp", level, message, service, host) VALUES
            ('2026-01-05 10:00:00+00', 'INFO', 'fine', 'api', 'h1'),
            ('2026-01-05 10:00:01+00', 'ERROR', repeat('x', 5000), 'api', 'h1')""")
    table = TableSource(url=source["url"], table="public.log_entries", columns=mapping("log_entries"))
    (batch,) = extract(fresh_db, table)
    assert (batch.read, batch.loaded, batch.quarantined) == (2, 1, 1)
    with psycopg.connect(fresh_db) as conn:
        reason, raw = conn.execute("SELECT reason, convert_from(raw, 'UTF8') FROM logintel.logs_quarantine").fetchone()
    assert reason.startswith("record too long (") and "> limit 2000; raw kept whole" in reason
    assert json.loads(raw)["message"] == "x" * 5000  # every byte of the row is kept


def test_a_bad_mapping_is_a_clear_error(fresh_db, source):
    with pytest.raises(ExtractError, match="unknown preset"):
        mapping("nope")
    with pytest.raises(ExtractError, match="needs a column for 'message'"):
        mapping(None, {"ts": "timestamp", "level": "level"})
    broken = TableSource(url=source["url"], table="log_entries", columns=mapping("log_entries", {"message": "msg"}))
    with pytest.raises(ExtractError, match='column t.msg does not exist'):
        extract(fresh_db, broken)


def test_the_cli_extracts_with_a_preset(fresh_db, source):
    fill_log_entries(source["url"], 50, seed=5, start=datetime(2026, 1, 5, tzinfo=timezone.utc))
    env = {**os.environ, "LOGINTEL_DATABASE_URL": fresh_db}
    cmd = [sys.executable, "-m", "logintel.cli", "extract", "--source-url", source["reader"], "--table", "log_entries",
           "--preset", "log_entries"]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["loaded"] == 50
    bad = subprocess.run(cmd + ["--map", "message=nope"], capture_output=True, text=True, env=env)
    assert bad.returncode == 5 and bad.stderr.startswith("error: ") and "nope" in bad.stderr.splitlines()[0]


@pytest.mark.slow
def test_the_log_extract_dag_reads_through_an_airflow_connection(fresh_db, source, tmp_path):
    """`airflow dags test log_extract` with the source only as an Airflow connection (an extra set)."""
    from airflow_runner import airflow_env, dags_test

    fill_log_entries(source["url"], 120, seed=6, start=datetime(2026, 1, 5, tzinfo=timezone.utc))
    env = airflow_env(fresh_db, tmp_path, AIRFLOW_CONN_LOGS_SOURCE=source["reader"] + "?sslmode=disable",
                      AIRFLOW__LOGGING__LOGGING_LEVEL="INFO")
    conf = json.dumps({"conn_id": "logs_source", "table": "public.log_entries", "chunk_rows": 50})
    dags_test("log_extract", env, conf=conf)
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("SELECT count(*) FROM logintel.logs").fetchone()[0] == 120
        assert conn.execute("SELECT count(*) FROM logintel.ingest_batches").fetchone()[0] == 3  # 50 + 50 + 20
    out = dags_test("log_extract", env, conf=conf)  # nothing new: the task skips, nothing is added
    assert "no new rows were loaded" in out or "skipped" in out.lower()
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("SELECT count(*) FROM logintel.logs").fetchone()[0] == 120


def test_a_table_source_runs_through_quality_training_and_scoring(fresh_db, source, tmp_path):
    """The whole chain from a table: log_extract -> log_quality -> log_training -> log_scoring under
    `airflow dags test`, the source only as an Airflow connection."""
    from airflow_runner import airflow_env, dags_test

    fill_log_entries(source["url"], 3000, seed=11, start=datetime(2026, 1, 5, tzinfo=timezone.utc))
    env = airflow_env(fresh_db, tmp_path, AIRFLOW_CONN_LOGS_SOURCE=source["reader"])
    dags_test("log_extract", env, conf=json.dumps({"conn_id": "logs_source", "table": "public.log_entries",
                                                   "preset": "log_entries", "chunk_rows": 1000}))
    for dag_id in ("log_quality", "log_training", "log_scoring"):
        dags_test(dag_id, env)
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("SELECT count(*), count(DISTINCT ingest_batch_id) FROM logintel.logs").fetchone() == (3000, 3)
        suites = dict(conn.execute("SELECT suite, bool_and(success) FROM logintel.dq_runs GROUP BY 1").fetchall())
        scored = conn.execute("""SELECT count(*) FROM logintel.ml_predictions p JOIN logintel.model_versions m
                                 ON m.version = p.model_version AND m.status = 'champion'""").fetchone()[0]
        attrs = conn.execute("SELECT count(*) FROM logintel.logs WHERE attrs ? 'http_status' AND attrs ? 'host'").fetchone()[0]
    # every extracted batch validated, every row scored by the champion, coverage and drift checked
    assert set(suites) == {"logs_quality", "prediction_findings", "scoring_coverage", "scoring_drift"}
    assert suites["scoring_coverage"] and scored == 3000 and attrs == 3000


def test_an_extract_stopped_after_a_chunk_resumes_at_its_watermark(fresh_db, source, monkeypatch):
    """A run that dies after its first chunk (here: a source outage raised in the second) leaves the
    first chunk committed with its watermark; the retry reads the rest, nothing twice."""
    import logintel.extract as ex

    fill_log_entries(source["url"], 250, seed=7, start=datetime(2026, 1, 5, tzinfo=timezone.utc))
    table = TableSource(url=source["url"], table="log_entries", columns=mapping("log_entries"))
    real, calls = ex._read_chunk, []

    def outage(src, copy_out, params):
        calls.append(params)
        read = real(src, copy_out, params)  # the second chunk is read, then the source goes away
        if len(calls) == 2:
            raise psycopg.OperationalError("server closed the connection unexpectedly")
        return read

    monkeypatch.setattr(ex, "_read_chunk", outage)
    with pytest.raises(psycopg.OperationalError):
        extract(fresh_db, table, chunk_rows=100)
    monkeypatch.undo()
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("SELECT count(*) FROM logintel.logs").fetchone()[0] == 100
        assert conn.execute("SELECT last_key FROM logintel.extract_watermarks").fetchone()[0] == 100
        assert conn.execute("SELECT status FROM logintel.ingest_batches ORDER BY id").fetchall() == [("done",), ("failed",)]
    rest = extract(fresh_db, table, chunk_rows=100)
    assert [r.loaded for r in rest] == [100, 50] and not any(r.duplicates for r in rest)
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("SELECT count(*), count(DISTINCT attrs ->> 'source_key') FROM logintel.logs").fetchone() \
            == (250, 250)


def test_a_timestamp_watermark_reads_late_rows_inside_the_look_back(fresh_db, source):
    """Watermark by timestamp with a 30-minute look-back: a row that arrives late with a timestamp
    10 minutes before the watermark is read; re-read rows count as duplicates (by the source's key);
    a row 2 hours late, outside the look-back, is not read (what the look-back is for)."""
    fill_log_entries(source["url"], 400, seed=8, start=datetime(2026, 1, 5, tzinfo=timezone.utc))
    table = TableSource(url=source["url"], table="log_entries", columns=mapping("log_entries"),
                        watermark="ts", lookback_minutes=30)
    first = extract(fresh_db, table, chunk_rows=150)
    assert [r.loaded for r in first] == [150, 150, 100]
    with psycopg.connect(fresh_db) as conn:
        mark = conn.execute("SELECT last_ts FROM logintel.extract_watermarks").fetchone()[0]
    with psycopg.connect(source["url"]) as conn:
        assert conn.execute('SELECT max("timestamp") FROM public.log_entries').fetchone()[0] == mark
        window = conn.execute('SELECT count(*) FROM public.log_entries WHERE "timestamp" >= %s',
                              (mark - timedelta(minutes=30),)).fetchone()[0]
        conn.execute("""INSERT INTO public.log_entries ("timestamp", level, message, service, host) VALUES
                        (%s, 'ERROR', 'late but inside', 'api', 'h1'), (%s, 'ERROR', 'too late', 'api', 'h1')""",
                     (mark - timedelta(minutes=10), mark - timedelta(hours=2)))
    (again,) = extract(fresh_db, table, chunk_rows=1000)
    assert (again.read, again.loaded, again.duplicates) == (window + 1, 1, window)
    with psycopg.connect(fresh_db) as conn:
        messages = {r[0] for r in conn.execute("SELECT message FROM logintel.logs WHERE level = 'ERROR'")}
    assert "late but inside" in messages and "too late" not in messages


def test_a_bytea_message_column_is_decoded_and_bad_bytes_are_quarantined(fresh_db, source):
    """Messages stored as bytea: valid UTF-8 is loaded as text (not the hex `::text` gives), invalid
    UTF-8 and a NUL byte are quarantined with the row's values and a reason naming the field."""
    with psycopg.connect(source["url"]) as conn:
        conn.execute("CREATE TABLE public.raw_logs (id bigint PRIMARY KEY, ts timestamptz, level text, body bytea)")
        conn.execute(f"GRANT SELECT ON public.raw_logs TO {source['reader'].split('://', 1)[1].split('@')[0]}")
        rows = [(1, "Disk sda1 at 91 % – München".encode()), (2, b"\xff\xfe broken"), (3, b"nul \x00 inside"),
                (4, "ok again".encode()), (5, None)]
        for key, body in rows:
            conn.execute("INSERT INTO public.raw_logs VALUES (%s, '2026-01-05 10:00:00+00', 'WARN', %s)", (key, body))
    table = TableSource(url=source["reader"], table="raw_logs", columns=mapping(None, {
        "ts": "ts", "level": "level", "message": "body"}))
    done = extract(fresh_db, table, chunk_rows=100)
    assert [(r.read, r.loaded, r.quarantined) for r in done] == [(5, 2, 3)]
    with psycopg.connect(fresh_db) as conn:
        loaded = conn.execute("SELECT source_line, message FROM logintel.logs ORDER BY 1").fetchall()
        bad = dict(conn.execute("SELECT source_line, reason FROM logintel.logs_quarantine ORDER BY 1").fetchall())
        raw = conn.execute("SELECT raw FROM logintel.logs_quarantine WHERE source_line = 2").fetchone()[0]
    assert loaded == [(1, "Disk sda1 at 91 % – München"), (4, "ok again")]
    assert bad[2] == "message (bytea): invalid UTF-8 at byte 0"
    assert bad[3] == "message (bytea): NUL byte in record" and bad[5] == "empty message"
    assert json.loads(bytes(raw))["key"] == 2  # the row's values are kept
    # read again from the start (these rows take the staged path, not merge_checked): every row
    # is a duplicate by the source's key, nothing is loaded or quarantined twice
    with psycopg.connect(fresh_db) as conn:
        conn.execute("DELETE FROM logintel.extract_watermarks")
    again = extract(fresh_db, table, chunk_rows=100)
    assert [(r.read, r.loaded, r.duplicates, r.quarantined) for r in again] == [(5, 0, 5, 0)]


def test_a_duration_column_is_the_duration_the_slow_line_checks_read(fresh_db, source, monkeypatch):
    """A table's `response_time_ms` (kept in attrs) is each scored line's duration, before any in its
    message; a line without one falls back to its message ("took 40ms")."""
    from logintel import scoring, training

    fill_log_entries(source["url"], 3000, seed=5, start=datetime(2026, 1, 5, tzinfo=timezone.utc))
    with psycopg.connect(source["url"]) as conn:  # durations that vary, and three rows to look at
        conn.execute("UPDATE public.log_entries SET response_time_ms = 10 + id % 500")
        conn.execute("UPDATE public.log_entries SET message = 'Request took 40ms', response_time_ms = NULL "
                     "WHERE id = 2")
        conn.execute("UPDATE public.log_entries SET message = 'Request took 40ms', response_time_ms = 7 WHERE id = 3")
        conn.execute("UPDATE public.log_entries SET message = 'Request done', response_time_ms = NULL, "
                     "structured_data = '{\"elapsed\": 123}' WHERE id = 4")
    extract(fresh_db, TableSource(url=source["reader"], table="log_entries", columns=mapping("log_entries")))
    training.train_and_register(fresh_db, seed=0)
    scoring.score_all(fresh_db, run_key="durations")
    with psycopg.connect(fresh_db) as conn:
        got = dict(conn.execute("SELECT l.source_line, p.duration_ms FROM logintel.logs l "
                                "JOIN logintel.ml_predictions p ON p.log_id = l.id").fetchall())
    assert len(got) == 3000
    assert got[2] == 40 and got[3] == 7 and got[4] is None  # message fallback; the column first; none
    assert all(got[k] == 10 + k % 500 for k in got if k > 4)


def test_a_view_whose_key_repeats_loads_each_key_once_and_counts_the_rest_as_duplicates(fresh_db, source):
    with psycopg.connect(source["url"]) as conn:
        fill_log_entries(source["url"], 40, seed=3, start=datetime(2026, 1, 5, tzinfo=timezone.utc))
        conn.execute("CREATE VIEW public.doubled AS SELECT * FROM public.log_entries "
                     "UNION ALL SELECT * FROM public.log_entries WHERE id % 4 = 0")
        conn.execute(f"GRANT SELECT ON public.doubled TO {source['reader'].split('://', 1)[1].split('@')[0]}")
    done = extract(fresh_db, TableSource(url=source["reader"], table="doubled", columns=mapping("log_entries")),
                   chunk_rows=1000)
    assert [(r.read, r.loaded, r.duplicates, r.quarantined) for r in done] == [(50, 40, 10, 0)]
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("SELECT count(*), count(DISTINCT source_line) FROM logintel.logs").fetchone() == (40, 40)
        assert conn.execute("SELECT read_count, loaded_count, duplicate_count FROM logintel.ingest_batches "
                            "WHERE status = 'done'").fetchall() == [(50, 40, 10)]


def test_a_query_source_is_read_like_a_table_and_named_by_its_label(fresh_db, source):
    """A SELECT instead of a table (say, one service's rows with a computed column): read in chunks
    by its key, named `query:<label>`, its other columns in attrs, nothing read twice."""
    fill_log_entries(source["url"], 300, seed=8, start=datetime(2026, 1, 5, tzinfo=timezone.utc))
    query = ("SELECT id, \"timestamp\", level, message, service, host, is_anomaly, "
             "http_status / 100 AS status_class FROM public.log_entries WHERE service <> 'auth'")
    table = TableSource(url=source["reader"], table="not_auth", columns=mapping("log_entries"), query=query)
    with psycopg.connect(source["url"]) as conn:
        wanted = conn.execute("SELECT count(*) FROM public.log_entries WHERE service <> 'auth'").fetchone()[0]
    assert 0 < wanted < 300
    done = extract(fresh_db, table, chunk_rows=100)
    assert sum(r.loaded for r in done) == wanted and not any(r.quarantined for r in done)
    assert extract(fresh_db, table, chunk_rows=100) == []  # nothing twice
    with psycopg.connect(fresh_db) as conn:
        sources = conn.execute("SELECT DISTINCT source FROM logintel.logs").fetchall()
        attrs = conn.execute("SELECT attrs FROM logintel.logs LIMIT 1").fetchone()[0]
        services = conn.execute("SELECT count(*) FROM logintel.logs WHERE service = 'auth'").fetchone()[0]
    assert len(sources) == 1 and sources[0][0].endswith("/query:not_auth") and services == 0
    assert attrs["status_class"] == 2 and "http_status" not in attrs and attrs["host"]
    with pytest.raises(ExtractError, match="syntax"):
        extract(fresh_db, TableSource(url=source["reader"], table="broken", query="SELEC 1"))


def test_messages_with_copy_escapes_get_their_template_ids_on_the_server_side_path(fresh_db, source):
    # the reader thread reads each chunk's messages out of COPY text: tabs, backslashes, line breaks
    messages = ["tab\there 12", "back\\slash 7 C:\\temp\\x", "line\nbreak 3", "carriage\rreturn 4",
                "unicode \u00e9t\u00e9 5", "vertical\x0btab \x0cform 6", "plain words only"]
    with psycopg.connect(source["url"]) as conn:
        for i, m in enumerate(messages):
            conn.execute('INSERT INTO public.log_entries ("timestamp", level, message, service) VALUES (%s, %s, %s, %s)',
                         (datetime(2026, 1, 5, 0, 0, i, tzinfo=timezone.utc), "INFO", m, "svc"))
    table = TableSource(url=source["reader"], table="log_entries", columns=mapping("log_entries"))
    assert sum(r.loaded for r in extract(fresh_db, table)) == len(messages)
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("SELECT count(*) FROM logintel.logs WHERE template_id IS NULL").fetchone()[0] == 0
    assert assert_catalog_exact(fresh_db) == len(messages)
