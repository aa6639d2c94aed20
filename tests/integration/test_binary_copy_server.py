"""binary_copy.encode against a real PostgreSQL: the rows it sends are the rows psycopg's own
write_row sends (NULLs, empty and non-ASCII text, quotes, tabs and backslashes, extreme values)."""
from __future__ import annotations

import numpy as np
import psycopg
import pytest

from logintel import db
from logintel.binary_copy import Fixed, Text, encode

TABLE = "CREATE TEMP TABLE t (i bigint, k text, r real, b boolean, d real, s smallint, f double precision, v text)"
COLUMNS = "i, k, r, b, d, s, f, v"
VALUES = ["", "Connection to <*> failed", "naïve ☃ \"quoted\" \\ tab\tand\nnewline", "x" * 5000]


def _columns(n: int, rng: np.random.Generator):
    ids = rng.integers(-2**62, 2**62, n, dtype=np.int64)
    codes = rng.integers(-1, len(VALUES), n)  # -1: NULL
    real = rng.normal(size=n).astype(np.float64) * 1e6
    flags = rng.random(n) > 0.5
    dur = rng.random(n).astype(np.float32) * 1000
    dur[rng.random(n) > 0.6] = np.nan
    small = rng.integers(-32768, 32768, n)
    double = rng.normal(size=n)
    if n >= 4:  # the ends of each type's range
        ids[:2] = [-2**63, 2**63 - 1]
        small[:2] = [-32768, 32767]
        real[:4] = [float(np.finfo(np.float32).max), -float(np.finfo(np.float32).max), np.inf, -np.inf]
        double[:2] = [np.finfo(np.float64).max, -np.inf]
    return [Fixed(ids, "int8"), Text(codes, VALUES), Fixed(real, "float4"), Fixed(flags, "bool"),
            Fixed(dur, "float4", null=np.isnan(dur)), Fixed(small, "int2"), Fixed(double, "float8"),
            Text(np.zeros(n, dtype=np.int64), ["v1-s0"])], (ids, codes, real, flags, dur, small, double)


def _rows(conn) -> list[tuple]:
    return conn.execute(f"SELECT {COLUMNS} FROM t ORDER BY i").fetchall()


@pytest.mark.parametrize("n", [0, 1, 7, 3000])
def test_encode_sends_what_write_row_sends(fresh_db, n):
    rng = np.random.default_rng(n)
    columns, (ids, codes, real, flags, dur, small, double) = _columns(n, rng)
    with db.connect(fresh_db) as conn:
        conn.execute(TABLE)
        with conn.cursor().copy(f"COPY t ({COLUMNS}) FROM STDIN (FORMAT binary)") as copy:
            copy.write(encode(columns, n))
        ours = _rows(conn)
        conn.execute("TRUNCATE t")
        with conn.cursor().copy(f"COPY t ({COLUMNS}) FROM STDIN") as copy:
            for i in range(n):
                copy.write_row((int(ids[i]), VALUES[codes[i]] if codes[i] >= 0 else None,
                                float(np.float32(real[i])), bool(flags[i]),
                                None if np.isnan(dur[i]) else float(dur[i]), int(small[i]), float(double[i]),
                                "v1-s0"))
        theirs = _rows(conn)
    assert len(ours) == n
    assert ours == theirs
    if n > 100:  # the data has what the format must get right
        assert any(r[1] is None for r in ours) and any(r[1] == "" for r in ours)
        assert any(r[4] is None for r in ours) and any(r[4] is not None for r in ours)


def test_a_wrong_width_is_refused_by_the_server(fresh_db):
    """The stream is checked by PostgreSQL itself: a column sent as the wrong type fails the COPY
    (so a layout mistake cannot slip through as wrong values)."""
    with db.connect(fresh_db) as conn:
        conn.execute("CREATE TEMP TABLE w (i bigint)")
        with pytest.raises(psycopg.errors.ProtocolViolation):
            with conn.cursor().copy("COPY w (i) FROM STDIN (FORMAT binary)") as copy:
                copy.write(encode([Fixed(np.arange(3), "int4")], 3))
