"""Connections, migrations and bulk-I/O helpers for the Logintel database."""
from __future__ import annotations

import warnings
from contextlib import contextmanager
from functools import lru_cache
from importlib import resources
from typing import Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg

from .settings import Settings, get_settings, mask_url

DEFAULT_DB = "logintel"
MIGRATION_LOCK = 741_2001  # advisory lock key: one migrator at a time


def with_database(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/") or "postgres"


def ensure_database(url: str) -> None:
    """Create the database of `url` if the server does not have it yet."""
    name = database_name(url)
    try:
        psycopg.connect(url, connect_timeout=10).close()
        return
    except psycopg.OperationalError as exc:
        if "does not exist" not in str(exc):
            raise
    with psycopg.connect(with_database(url, "postgres"), autocommit=True, connect_timeout=10) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))


def server_url(settings: Settings | None = None) -> str:
    """URL of the configured server's `postgres` database, starting the embedded one if needed."""
    settings = settings or get_settings()
    if settings.database_url:
        return with_database(settings.database_url, "postgres")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on import
        from . import embedded
    return embedded.start(settings.pgdata, settings.embedded_port, pinned=settings.embedded_port_pinned)


def database_url(settings: Settings | None = None) -> str:
    """URL of the Logintel database (created on first use)."""
    settings = settings or get_settings()
    url = settings.database_url or with_database(server_url(settings), DEFAULT_DB)
    return url


# The product's queries are bulk statements over staging tables and CTEs whose row estimates are
# far off, so PostgreSQL's JIT compiles them for seconds and wins nothing back: 2.9 of the 8.8 s of
# a 200,000-log scoring read (EXPLAIN ANALYZE, PostgreSQL 15). Off for every Logintel connection,
# by a SET once connected, not by libpq `options`: those would replace the URL's and PGOPTIONS,
# and a pooler such as PgBouncer refuses the `options` startup parameter.
SESSION_SETTINGS = "SET jit = off"


def connect(url: str, **kwargs) -> psycopg.Connection:
    try:
        conn = psycopg.connect(url, connect_timeout=15, **kwargs)
    except psycopg.OperationalError as exc:
        raise psycopg.OperationalError(f"cannot connect to {mask_url(url)}: {exc}") from None
    try:
        conn.execute(SESSION_SETTINGS)
        if not conn.autocommit:
            conn.commit()  # the SET is the session's, and the caller starts with no transaction open
    except BaseException:
        conn.close()
        raise
    return conn


@contextmanager
def transaction(url: str) -> Iterator[psycopg.Connection]:
    """One connection, one transaction: committed on success, rolled back on any error."""
    with connect(url) as conn:
        with conn.transaction():
            yield conn


@lru_cache(maxsize=None)
def sql(name: str) -> str:
    """The text of include/logintel/sql/<stage>/<step>.sql, named "<stage>/<step>"."""
    *folders, step = name.split("/")
    return resources.files("logintel").joinpath("sql", *folders, f"{step}.sql").read_text()


def query(conn: psycopg.Connection, name: str, params: dict | None = None) -> list[dict]:
    """The rows of sql/<name>.sql as dicts (psycopg's dict_row)."""
    from psycopg.rows import dict_row

    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(sql(name), params or {}).fetchall()


def query_one(conn: psycopg.Connection, name: str, params: dict | None = None) -> dict | None:
    """The first row of sql/<name>.sql as a dict, or None."""
    rows = query(conn, name, params)
    return rows[0] if rows else None


def migrations() -> list[tuple[str, str]]:
    folder = resources.files("logintel").joinpath("sql", "migrations")
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".sql"))
    return [(n.removesuffix(".sql"), folder.joinpath(n).read_text()) for n in names]


def upgrade(url: str) -> list[str]:
    """Apply the migrations not applied yet; safe to run twice and concurrently."""
    ensure_database(url)
    applied_now: list[str] = []
    with connect(url) as conn:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            conn.execute("CREATE SCHEMA IF NOT EXISTS logintel")
            conn.execute("""CREATE TABLE IF NOT EXISTS logintel.schema_migrations (
                               version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())""")
            done = {r[0] for r in conn.execute("SELECT version FROM logintel.schema_migrations")}
            for version, text in migrations():
                if version in done:
                    continue
                conn.execute(text)
                conn.execute("INSERT INTO logintel.schema_migrations (version) VALUES (%s)", (version,))
                applied_now.append(version)
    return applied_now


def copy_rows(conn: psycopg.Connection, table: str, columns: list[str], rows) -> int:
    """COPY an iterable of tuples into `table` (a trusted identifier from our own code); returns the
    rows the server stored."""
    cols = ", ".join(columns)
    n = 0
    cur = conn.cursor()
    with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            n += 1
    # the server's count ("COPY n"), so a caller's accounting checks what was stored, not what was sent
    return cur.rowcount if cur.rowcount >= 0 else n


def copy_out(conn: psycopg.Connection, statement: str) -> bytes:
    """All the data of `statement` (a COPY ... TO STDOUT), as one bytes object.

    PostgreSQL sends a COPY's data one row per message, and psycopg hands each out through its
    waiting machinery with the interpreter lock held (a 200,000-log scoring read: 0.23 s of Python
    through psycopg's copy, 0.11 s here; best of five each). Here the rows libpq has buffered are taken
    straight from it, and the socket is waited on (lock released) only when none are. Inside a
    transaction or on an autocommit connection; otherwise psycopg's own copy (it opens the
    transaction the connection would)."""
    import select

    from psycopg import pq

    status = conn.info.transaction_status
    if not conn.autocommit and status != pq.TransactionStatus.INTRANS or conn.closed:
        with conn.cursor().copy(statement) as copy:
            return b"".join(bytes(block) for block in copy)
    pgconn = conn.pgconn
    parts: list[bytes] = []
    with conn.lock:
        pgconn.send_query(statement.encode(conn.info.encoding))

        def result() -> pq.abc.PGresult | None:
            pgconn.consume_input()
            while pgconn.is_busy():  # wait for the server without holding the interpreter
                select.select([pgconn.socket], [], [])
                pgconn.consume_input()
            return pgconn.get_result()

        head = result()
        if head is None or head.status != pq.ExecStatus.COPY_OUT:
            while result() is not None:  # drain, so the connection is ready for the next statement
                pass
            raise _error_of(head, conn)
        while True:
            nbytes, data = pgconn.get_copy_data(1)
            if nbytes > 0:
                parts.append(bytes(data))  # (keeping libpq's buffers alive until the join cost 3x more)
            elif nbytes == 0:  # nothing buffered: wait for the socket
                select.select([pgconn.socket], [], [])
                pgconn.consume_input()
            else:
                break
        end = result()
        while result() is not None:
            pass
        if end is None or end.status != pq.ExecStatus.COMMAND_OK:
            raise _error_of(end, conn)
    return b"".join(parts)


def _error_of(res, conn: psycopg.Connection) -> Exception:
    """The psycopg exception (its SQLSTATE class) of a failed result."""
    if res is None:
        return psycopg.OperationalError("the server ended the COPY without a result")
    return psycopg.errors.error_from_result(res, encoding=conn.info.encoding)
