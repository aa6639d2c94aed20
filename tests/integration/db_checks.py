"""Queries the integration tests use to check what a run left in the database."""
from __future__ import annotations

import psycopg

PARTIAL_CHUNKS = """
SELECT count(*) FROM (
    SELECT l.id / %s AS c, count(*) AS n, count(p.log_id) AS scored
    FROM logintel.logs l LEFT JOIN logintel.ml_predictions p ON p.log_id = l.id
    GROUP BY 1) g
WHERE scored > 0 AND scored < n
"""


def partial_chunks(url: str, chunk: int) -> int:
    """Scoring chunks (ids aligned to multiples of `chunk`) with some but not all logs scored."""
    with psycopg.connect(url) as conn:
        return conn.execute(PARTIAL_CHUNKS, (chunk,)).fetchone()[0]


# Every stored log's template id against its message masked here, and the catalog's counts against
# the stored logs: what the catalog promises, computed independently of how it was maintained.
CATALOG_COUNTS = """
SELECT t.template_key, c.level, sum(c.lines)::bigint, min(c.first_seen), max(c.last_seen)
FROM logintel.template_counts c JOIN logintel.templates t ON t.id = c.template_id
GROUP BY 1, 2"""
STORED_COUNTS = """
SELECT t.template_key, l.level, count(*), min(l.ts), max(l.ts)
FROM logintel.logs l JOIN logintel.templates t ON t.id = l.template_id
GROUP BY 1, 2"""


def assert_catalog_exact(url: str) -> int:
    """Each log carries the catalog id of its message's key; the counts per (template, level) and the
    first / last seen equal the stored logs'. Returns the number of logs checked."""
    from logintel.masking import MASKER_VERSION, template_key

    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT l.message, t.template_key, t.masker_version FROM logintel.logs l "
                            "LEFT JOIN logintel.templates t ON t.id = l.template_id").fetchall()
        assert rows, "no logs to check"
        wrong = [(m, k, v) for m, k, v in rows if k != template_key(m) or v != MASKER_VERSION]
        assert not wrong, f"{len(wrong)} logs with a wrong or no template, e.g. {wrong[:3]}"
        catalog = sorted(conn.execute(CATALOG_COUNTS).fetchall())
        stored = sorted(conn.execute(STORED_COUNTS).fetchall())
    assert catalog == stored
    return len(rows)
