"""db.copy_out (the COPY ... TO STDOUT reader that takes libpq's buffered rows itself) against a real
PostgreSQL: the same bytes as psycopg's own copy, errors as psycopg's exceptions with the connection
still usable, and the transaction semantics of the connection kept."""
from __future__ import annotations

import psycopg
import pytest

from logintel import db

MANY = "COPY (SELECT g, md5(g::text), CASE WHEN g % 7 = 0 THEN NULL ELSE 'naïve \"x\", y' END " \
       "FROM generate_series(1, 50000) g) TO STDOUT WITH (FORMAT csv, HEADER true)"


def _psycopg_copy(conn, statement: str) -> bytes:
    with conn.cursor().copy(statement) as copy:
        return b"".join(bytes(block) for block in copy)


@pytest.mark.parametrize("autocommit", [True, False])
def test_the_bytes_are_psycopgs(fresh_db, autocommit):
    with db.connect(fresh_db, autocommit=autocommit) as conn:
        ours = db.copy_out(conn, MANY)
        assert ours == _psycopg_copy(conn, MANY)
        assert ours.count(b"\n") == 50001  # the header and every row
        assert db.copy_out(conn, "COPY (SELECT 1 WHERE false) TO STDOUT") == b""


def test_an_error_is_psycopgs_exception_and_the_connection_goes_on(fresh_db):
    with db.connect(fresh_db, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.DivisionByZero):
            db.copy_out(conn, "COPY (SELECT 1 / (g - 3) FROM generate_series(1, 5) g) TO STDOUT")
        with pytest.raises(psycopg.errors.UndefinedTable):
            db.copy_out(conn, "COPY (SELECT * FROM no_such_table) TO STDOUT")
        with pytest.raises(psycopg.errors.UndefinedTable):  # not a COPY result at all
            db.copy_out(conn, "SELECT * FROM no_such_table")
        assert conn.execute("SELECT 42").fetchone() == (42,)


def test_inside_a_transaction_it_sees_the_transactions_rows_and_an_error_aborts_it(fresh_db):
    with db.connect(fresh_db) as conn:
        conn.execute("CREATE TABLE t (i int)")
        conn.execute("INSERT INTO t VALUES (1), (2)")
        assert db.copy_out(conn, "COPY t TO STDOUT") == b"1\n2\n"  # the transaction's own rows
        with pytest.raises(psycopg.errors.DivisionByZero):
            db.copy_out(conn, "COPY (SELECT 1 / 0) TO STDOUT")
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR
        conn.rollback()
        assert conn.execute("SELECT to_regclass('t')").fetchone() == (None,)  # nothing half-written


def test_outside_a_transaction_a_non_autocommit_connection_opens_one_as_psycopg_would(fresh_db):
    with db.connect(fresh_db) as conn:
        assert db.copy_out(conn, "COPY (SELECT 7) TO STDOUT") == b"7\n"
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        conn.rollback()
