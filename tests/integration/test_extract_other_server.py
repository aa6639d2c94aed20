"""Extract from a source on another PostgreSQL server (issue 14): a second, embedded server with
the seed's `log_entries`, read by a role that may only SELECT; the source server killed between
two chunks, and the retry once it is back."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import psycopg
import pytest

from logintel import db, embedded
from logintel.extract import TableSource, extract, mapping
from test_extract import LOG_ENTRIES, fill_log_entries

START = datetime(2026, 1, 5, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def other_server(tmp_path_factory):
    """A second PostgreSQL server (embedded, its own port and data folder), not the Logintel one."""
    pgdata = tmp_path_factory.mktemp("other_server") / "pgdata"
    port = embedded._free_port()
    url = embedded.start(pgdata, port, pinned=True)
    yield {"pgdata": pgdata, "port": port, "url": url}
    embedded.destroy(pgdata)


@pytest.fixture
def app_db(other_server):
    """An application database on the other server with `log_entries` and a read-only role."""
    name, role = f"app_{uuid.uuid4().hex[:8]}", f"reader_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(other_server["url"], autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
        conn.execute(f"CREATE ROLE {role} LOGIN")
    url = db.with_database(other_server["url"], name)
    with psycopg.connect(url) as conn:
        conn.execute(LOG_ENTRIES)
        conn.execute(f"GRANT SELECT ON public.log_entries TO {role}")
    yield {"url": url, "reader": url.replace("://postgres@", f"://{role}@", 1), "name": name}


def _logs(url: str) -> tuple:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*), count(DISTINCT attrs ->> 'source_key'), min(source) "
                            "FROM logintel.logs").fetchone()


def test_a_table_on_another_server_is_read_by_a_role_that_may_only_select(fresh_db, other_server, app_db):
    fill_log_entries(app_db["url"], 300, seed=8, start=START)
    source = TableSource(url=app_db["reader"], table="public.log_entries", columns=mapping("log_entries"))
    assert sum(r.loaded for r in extract(fresh_db, source, chunk_rows=120)) == 300
    n, distinct, name = _logs(fresh_db)
    assert (n, distinct) == (300, 300)
    assert name == f"postgres://127.0.0.1:{other_server['port']}/{app_db['name']}/public.log_entries"
    with psycopg.connect(app_db["reader"]) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("DELETE FROM public.log_entries")  # the role extract used cannot change the source
    # the source is untouched: nothing of Logintel's lives there
    with psycopg.connect(app_db["url"]) as conn:
        assert conn.execute("SELECT count(*) FROM public.log_entries").fetchone()[0] == 300
        assert conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'logintel'").fetchone()[0] == 0


def test_the_source_server_killed_between_chunks_then_the_retry(fresh_db, other_server, app_db, monkeypatch):
    """The source server goes down hard (pg_ctl -m immediate) after the first chunk is committed:
    the run fails on the next chunk with a real connection error, the first chunk and its watermark
    stay; once the server is back, the retry reads the rest, nothing twice."""
    import logintel.extract as ex

    fill_log_entries(app_db["url"], 250, seed=9, start=START)
    with psycopg.connect(other_server["url"], autocommit=True) as conn:
        conn.execute("CHECKPOINT")  # the embedded server commits asynchronously: make the rows survive the crash
    source = TableSource(url=app_db["reader"], table="public.log_entries", columns=mapping("log_entries"))
    real, calls = ex._read_chunk, []

    def kill_before_second(src, copy_out, params):
        calls.append(params)
        if len(calls) == 2:
            embedded._run([str(embedded._bin("pg_ctl")), "-D", str(other_server["pgdata"]), "-w", "-m", "immediate",
                           "stop"], user=embedded.SYSTEM_USER if embedded._as_root() else None)
        return real(src, copy_out, params)

    monkeypatch.setattr(ex, "_read_chunk", kill_before_second)
    with pytest.raises(psycopg.OperationalError):
        extract(fresh_db, source, chunk_rows=100)
    monkeypatch.undo()
    assert len(calls) == 2
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("SELECT count(*) FROM logintel.logs").fetchone()[0] == 100
        assert conn.execute("SELECT last_key FROM logintel.extract_watermarks").fetchone()[0] == 100
        assert conn.execute("SELECT status FROM logintel.ingest_batches ORDER BY id").fetchall() == [("done",), ("failed",)]
    embedded.start(other_server["pgdata"], other_server["port"], pinned=True)
    rest = extract(fresh_db, source, chunk_rows=100)
    assert [r.loaded for r in rest] == [100, 50] and not any(r.duplicates for r in rest)
    assert _logs(fresh_db)[:2] == (250, 250)
