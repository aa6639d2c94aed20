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
