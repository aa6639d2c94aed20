"""The anomaly model's bucket features, computed by sql/scoring/bucket_counts.sql on a real
PostgreSQL (read through logintel.frames.read_logs), against values worked out by hand, and
against the pandas copy the in-memory tests use (tests/support/buckets.py)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from support.buckets import add_bucket_columns

from logintel import db, frames

BUCKETS = ["bucket_total", "bucket_warn", "bucket_error", "svc_rate_total", "svc_rate_warn", "svc_rate_error"]


def _insert(conn, rows) -> None:
    """rows: (id, ts, service, level, message)."""
    batch = conn.execute("INSERT INTO logintel.ingest_batches (status) VALUES ('running') RETURNING id").fetchone()[0]
    with conn.cursor() as cur:
        cur.executemany("""INSERT INTO logintel.logs (id, ts, service, source, source_line, level, message,
                               ingest_batch_id, dedupe_key)
                           VALUES (%s, %s, %s, 'test', %s, %s, %s, %s, md5(%s::text)::uuid)""",
                        [(i, ts, svc, i, level, msg, batch, i) for i, ts, svc, level, msg in rows])


def _by_id(frame: pd.DataFrame) -> dict:
    return {int(r["id"]): tuple(r[c] for c in BUCKETS) for _, r in frame.iterrows()}


def test_bucket_counts_and_service_rates(fresh_db):
    with db.transaction(fresh_db) as conn:
        _insert(conn, [
            (1, "2024-01-01T00:00:01Z", "a", "INFO", "x"),
            (2, "2024-01-01T00:04:59Z", "a", "ERROR", "x"),  # same 5-minute bucket as 1
            (3, "2024-01-01T00:05:00Z", "a", "WARN", "x"),   # the next bucket
            (4, "2024-01-01T00:01:00Z", "b", "FATAL", "x"),  # FATAL counts as an error
        ])
        got = _by_id(frames.read_logs(conn, 1, 4))
    # service a: buckets {1, 2} (2 lines, 1 error) and {3} (1 line, 1 warn) -> rates 1.5 / 0.5 / 0.5
    assert got == {
        1: (2, 0, 1, 1.5, 0.5, 0.5),
        2: (2, 0, 1, 1.5, 0.5, 0.5),
        3: (1, 1, 0, 1.5, 0.5, 0.5),
        4: (1, 0, 1, 1.0, 0.0, 1.0),
    }


def test_buckets_count_all_logs_of_the_span(fresh_db):
    with db.transaction(fresh_db) as conn:
        _insert(conn, [
            (1, "2024-01-02T10:00:00Z", "a", "INFO", "x"),
            (2, "2024-01-02T10:03:00Z", "a", "ERROR", "x"),  # not selected, but in row 1's bucket
            (3, "2024-01-01T12:00:00Z", "a", "WARN", "x"),   # within the day of history: a bucket of a
            (4, "2023-12-31T09:00:00Z", "a", "INFO", "x"),   # older than a day before the span: not counted
            (5, "2024-01-02T10:01:00Z", None, "ERROR", "x"),  # no service: service ''
        ])
        one = _by_id(frames.read_logs(conn, 1, 1))
        no_service = frames.read_logs(conn, 5, 5)
    # a's buckets in [2024-01-01 10:00, 2024-01-02 10:05): {1, 2} and {3}
    assert one == {1: (2, 0, 1, 1.5, 0.5, 0.5)}
    assert no_service["service"].tolist() == [""]
    assert _by_id(no_service) == {5: (1, 0, 1, 1.0, 0.0, 1.0)}


def test_pandas_copy_agrees_with_the_sql(fresh_db):
    """The same rows (all logs of the span), through SQL and through tests/support/buckets.py."""
    rng = np.random.default_rng(4)
    n = 400
    ts = pd.Timestamp("2024-03-01", tz="UTC") + pd.to_timedelta(np.sort(rng.integers(0, 6 * 3600, n)), unit="s")
    svc = rng.choice(["api", "db", "auth", None], size=n, p=[0.4, 0.3, 0.2, 0.1])
    lvl = rng.choice(["DEBUG", "INFO", "WARN", "ERROR", "FATAL"], size=n, p=[0.2, 0.5, 0.15, 0.12, 0.03])
    rows = [(i + 1, t.isoformat(), s, lv, f"m{i % 7}") for i, (t, s, lv) in enumerate(zip(ts, svc, lvl))]
    with db.transaction(fresh_db) as conn:
        _insert(conn, rows)
        sql = frames.read_logs(conn, 1, n)
    assert len(sql) == n
    mine = add_bucket_columns(sql.drop(columns=BUCKETS))
    for c in BUCKETS:
        np.testing.assert_allclose(sql[c].to_numpy(np.float64), mine[c].to_numpy(np.float64), rtol=1e-12,
                                   err_msg=c)
    assert sql["bucket_total"].max() > 1  # the data does share buckets
    with pytest.raises(AssertionError):  # and the check can fail: a shifted bucket is noticed
        np.testing.assert_array_equal(sql["bucket_total"].to_numpy(),
                                      add_bucket_columns(sql.assign(ts=sql["ts"] + pd.Timedelta("150s")))[
                                          "bucket_total"].to_numpy())


EDGE_MESSAGES = [
    "took 350ms", "timed out after 2.5 s", "done in 3 min", "slept 12 seconds.", "x 7µs y", "12.5.3ms",
    "a12ms", "v1.2s", "(kid=5ms)", "retry 3 of 5", "ratio 0.75", "12 msec", "at 1.5sec,", "6 secs", "9 us",
    "40233s", "no duration here", "2ms3", "first 5ms then 9s", "tab\t7ms", "x_5ms", ".5ms", "42 ms!", "",
]


def test_line_durations_computed_on_the_server_equal_durations_py(fresh_db):
    from datetime import datetime, timezone

    from logintel.durations import durations_ms
    from logintel.synthetic import generate

    messages = EDGE_MESSAGES + [r["message"] for r in generate(5000, days=1, seed=3,
                                                               start=datetime(2026, 1, 5, tzinfo=timezone.utc))]
    with db.transaction(fresh_db) as conn:
        _insert(conn, [(i + 1, "2024-01-01T00:00:01Z", "a", "INFO", m) for i, m in enumerate(messages)])
        frame = frames.read_logs(conn, 1, len(messages))
    assert len(frame) == len(messages)
    # (these rows have no template id, so the read sends their messages: a templated line's is NULL)
    server = frame["line_duration_ms"].to_numpy(dtype=np.float32)
    here = durations_ms(frame["message"])
    assert np.array_equal(server, here, equal_nan=True), [
        (m, s, h) for m, s, h in zip(frame["message"], server, here) if not (s == h or (s != s and h != h))][:5]
    assert np.isfinite(here).sum() > 500  # the corpus has durations to compare


def test_ingest_stores_each_lines_duration_and_the_read_takes_it_without_the_regex(fresh_db, tmp_path):
    """Each line's message duration is kept from the moment it is stored (as its template id is):
    equal to durations.py's ('NaN' for none), and what the scoring read gives; a line stored
    without it (NULL: before migration 023) is computed on the server as before."""
    import json
    from datetime import datetime, timezone

    from logintel.durations import durations_ms
    from logintel.ingest import ingest_paths
    from logintel.synthetic import generate

    messages = [m for m in EDGE_MESSAGES if m] + [r["message"] for r in generate(
        3000, days=1, seed=5, start=datetime(2026, 1, 5, tzinfo=timezone.utc))]
    path = tmp_path / "lines.jsonl"
    path.write_text("".join(json.dumps({"ts": "2024-01-01T00:00:01Z", "level": "INFO", "service": "a",
                                        "message": m}) + "\n" for m in messages))
    assert ingest_paths([path], url=fresh_db).loaded == len(messages)
    with db.transaction(fresh_db) as conn:
        stored = conn.execute("SELECT message, message_duration_ms FROM logintel.logs ORDER BY id").fetchall()
        assert [m for m, _ in stored] == messages
        kept = np.array([d for _, d in stored], dtype=np.float32)
        expected = durations_ms(messages)
        assert np.array_equal(kept, expected, equal_nan=True)
        assert np.isfinite(kept).sum() > 500 and np.isnan(kept).sum() > 500
        # the read takes the stored value: one changed on purpose comes back as stored
        first = conn.execute("SELECT min(id) FROM logintel.logs WHERE message = 'took 350ms'").fetchone()[0]
        conn.execute("UPDATE logintel.logs SET message_duration_ms = 7 WHERE id = %s", (first,))
        # and a line stored without it (NULL) is computed from its message
        second = conn.execute("SELECT min(id) FROM logintel.logs WHERE message = 'done in 3 min'").fetchone()[0]
        conn.execute("UPDATE logintel.logs SET message_duration_ms = NULL WHERE id = %s", (second,))
        frame = frames.read_logs(conn, 1, 10**9).set_index("id")
    assert frame.loc[first, "line_duration_ms"] == 7
    assert frame.loc[second, "line_duration_ms"] == 180_000
    lines = frame["line_duration_ms"].to_numpy(dtype=np.float32)
    kept[[i for i, (m, _) in enumerate(stored) if m == "took 350ms"][0]] = 7
    assert np.array_equal(lines, kept, equal_nan=True)


def test_a_row_whose_log_went_between_the_two_reads_gets_no_lines_not_an_error(fresh_db):
    """The rows and their bucket counts are two reads: a row whose log is gone by the second (a
    retention drop in between) counts no lines in its bucket instead of failing the chunk."""
    with db.transaction(fresh_db) as conn:
        _insert(conn, [(1, "2024-01-01T00:00:01Z", "a", "WARN", "x")])
        frame = pd.DataFrame({"service": ["a", "gone"]})
        at = int(pd.Timestamp("2024-01-01T00:00:01Z").value // 1000)
        frames.add_bucket_columns(conn, frame, np.array([at, at], dtype=np.int64))
    assert frame[BUCKETS].to_numpy().tolist() == [[1, 1, 0, 1.0, 1.0, 0.0], [0, 0, 0, 0.0, 0.0, 0.0]]
