"""The template catalog: each distinct template key once, with an id every log carries.

Masking runs once per message in the product's life: ingest masks each record as it reads it
(from its second chunk in a helper process, :mod:`logintel.masking_worker`), the keys get catalog
ids (:func:`ensure_ids`, committed on a connection of their own so a batch holds no lock on the
catalog) and ingest's COPY into ``logs`` (or extract's merge) stores the id with the log.
Logs stored without one (before the catalog existed, or by extract's server-side path) are
templated by :func:`assign`, which also moves every stored log to a new masker version
(``retemplate=True``): an explicit step, in chunks that commit, so it resumes where it stopped.

Line counts per (template, level) are kept per ingest batch (``template_counts``) and recomputed
from the batch's stored logs after each load (:func:`recount_batches`): exact under re-ingest and
duplicates (only stored rows count) and under retention (a dropped partition takes its batches'
rows with it). Scoring, training and the verdicts read the key through the id, never re-mask.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable

import psycopg

from . import db
from .masking import MASKER_VERSION, thread_masker
from .progress import RowProgress

log = logging.getLogger(__name__)


def ensure_ids(url: str, keys: Iterable[str]) -> dict[str, int]:
    """Catalog ids of `keys` (rows created for new ones, committed at once). Asked of the database
    every time, never cached: a database re-created under the same URL has other ids."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    params = {"masker_version": MASKER_VERSION, "keys": wanted}
    with db.connect(url, autocommit=True) as conn:
        conn.execute(db.sql("catalog/ensure_keys"), params)
        return {key: int(tid) for key, tid in conn.execute(db.sql("catalog/ids_of"), params).fetchall()}


def recount_batches(conn: psycopg.Connection, batch_ids: Iterable[int]) -> None:
    """Recompute the catalog counts of `batch_ids` from their stored logs (in the caller's transaction)."""
    ids = sorted({int(b) for b in batch_ids if b is not None})
    if ids:
        conn.execute(db.sql("catalog/forget_batches"), {"batch_ids": ids})
        conn.execute(db.sql("catalog/recount_batches"), {"batch_ids": ids})


def assign(url: str, *, retemplate: bool = False, chunk_rows: int = 50_000, progress: RowProgress | None = None) -> int:
    """Template the stored logs without an id (and, with `retemplate`, those of another masker
    version), chunk by chunk, each chunk in its own transaction; returns how many were templated.
    Safe to stop and run again: it picks up the logs still to do."""
    done = 0
    after = 0
    with db.connect(url, autocommit=True) as reader:
        while True:
            rows = reader.execute(db.sql("catalog/untemplated"),
                                  {"after": after, "retemplate": retemplate, "masker_version": MASKER_VERSION,
                                   "limit": int(chunk_rows)}).fetchall()
            if not rows:
                break
            keys = thread_masker().keys(m for _, m in rows)
            ids = ensure_ids(url, keys)
            with db.transaction(url) as conn:
                conn.execute(db.sql("catalog/assign_stage"))
                db.copy_rows(conn, "template_assign", ["id", "template_id"],
                             ((log_id, ids[k]) for (log_id, _), k in zip(rows, keys)))
                batches = conn.execute(db.sql("catalog/assign")).fetchone()[0]
                recount_batches(conn, batches)
            done += len(rows)
            after = int(rows[-1][0])
            if progress is not None:
                progress.advance(len(rows))
    if done:
        log.info("templated %d stored logs (masker version %d)", done, MASKER_VERSION)
    return done
