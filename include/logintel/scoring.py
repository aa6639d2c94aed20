"""Batch scoring: every log without a champion prediction, in id-range partitions and chunks.

Each chunk is read with COPY, scored (one template scored once, the cache shared across
chunks), written with COPY into a staging table and upserted in one transaction, so a
crash leaves whole chunks or nothing.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Iterator

import psycopg

from . import db, training
from .settings import cpu_threads, get_settings

log = logging.getLogger(__name__)
PRED_COLUMNS = ["log_id", "template_key", "predicted_level", "confidence", "anomaly_score", "predicted_anomaly"]


class NoChampionError(RuntimeError):
    pass


@dataclass
class PartitionResult:
    lo: int
    hi: int
    scored: int
    chunks: int


def require_champion(url: str) -> tuple[str, str, str]:
    champ = training.champion(url)
    if champ is None:
        raise NoChampionError("no champion model: run `logintel train` (or the log_training DAG) first")
    return champ


def plan_partitions(url: str, partitions: int) -> list[dict]:
    version, _, _ = require_champion(url)
    with db.connect(url) as conn:
        rows = conn.execute(db.sql("scoring/partitions"),
                            {"model_version": version, "partitions": max(1, int(partitions))}).fetchall()
    return [{"lo": int(lo), "hi": int(hi), "n": int(n)} for _, lo, hi, n in rows]


def start_run(url: str, run_key: str) -> int:
    version, _, _ = require_champion(url)
    with db.transaction(url) as conn:
        return conn.execute(
            """INSERT INTO logintel.scoring_runs (run_key, model_version) VALUES (%s, %s)
               ON CONFLICT (run_key) DO UPDATE SET model_version = EXCLUDED.model_version
               RETURNING id""", (run_key, version)).fetchone()[0]


def finish_run(url: str, run_id: int) -> int:
    with db.connect(url, autocommit=True) as conn:
        # Fresh statistics: the findings queries join millions of new predictions.
        conn.execute("ANALYZE logintel.ml_predictions")
    with db.transaction(url) as conn:
        return conn.execute(
            """UPDATE logintel.scoring_runs r SET finished_at = now(),
                   scored = (SELECT count(*) FROM logintel.ml_predictions p WHERE p.scoring_run_id = r.id)
               WHERE id = %s RETURNING scored""", (run_id,)).fetchone()[0]


def _rows(frame, preds):
    import numpy as np

    ids = frame["id"].to_numpy(dtype=np.int64)
    return zip(ids.tolist(), preds["template_key"].tolist(), preds["predicted_level"].tolist(),
               preds["confidence"].astype(float).tolist(), preds["anomaly_score"].astype(float).tolist(),
               preds["predicted_anomaly"].astype(bool).tolist())


def _chunk_lock(version: str, start: int) -> int:
    """Advisory-lock key of one chunk of one model version (signed 64-bit)."""
    digest = hashlib.blake2b(f"{version}:{start}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _write_chunk(conn, version: str, run_id: int, frame, preds) -> int:
    """COPY the chunk's predictions straight into ml_predictions; if another run wrote some
    of them meanwhile (a unique violation), fall back to staging + upsert for this chunk."""
    rows = list(_rows(frame, preds))
    try:
        with conn.transaction():  # a savepoint: the fallback keeps the chunk's transaction
            with conn.cursor().copy(
                    "COPY logintel.ml_predictions (log_id, template_key, predicted_level, confidence, anomaly_score, "
                    "predicted_anomaly, model_version, scoring_run_id) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row((*row, version, run_id))
        return len(rows)
    except psycopg.errors.UniqueViolation:
        conn.execute(db.sql("scoring/predictions_stage"))
        conn.execute("TRUNCATE predictions_stage")
        db.copy_rows(conn, "predictions_stage", PRED_COLUMNS, rows)
        return conn.execute(db.sql("scoring/predictions_upsert"), {"model_version": version, "run_id": run_id}).rowcount


def _chunk_ranges(lo: int, hi: int, chunk: int) -> Iterator[tuple[int, int]]:
    """[lo, hi] cut at multiples of `chunk`, so every run agrees on chunk boundaries."""
    start = lo
    while start <= hi:
        end = min(hi, (start // chunk + 1) * chunk - 1)
        yield start, end
        start = end + 1


def _read_ahead(url: str, ranges: Iterator[tuple[int, int]], version: str) -> Iterator[tuple[int, int, object]]:
    """Yield (start, end, frame) of each chunk's unscored logs, reading the next chunk in a
    background thread (its own connection) while the caller scores this one: PostgreSQL
    computes the next chunk's features on the other core meanwhile."""
    from concurrent.futures import ThreadPoolExecutor

    from . import frames

    with db.connect(url, autocommit=True) as reader, ThreadPoolExecutor(max_workers=1) as pool:
        # Bucket counts sort the chunk's span: give them memory instead of disk.
        reader.execute("SET work_mem = '128MB'")

        def read(r: tuple[int, int]):
            return (*r, frames.read_logs(reader, r[0], r[1], version))

        pending = next(ranges, None)
        future = pool.submit(read, pending) if pending else None
        while future is not None:
            item = future.result()
            pending = next(ranges, None)
            future = pool.submit(read, pending) if pending else None
            yield item


def score_partition(url: str, lo: int, hi: int, run_id: int, chunk_size: int | None = None) -> PartitionResult:
    """Score the unscored logs with id in [lo, hi], chunk by chunk; each chunk is written in
    one transaction, so a crash leaves whole chunks or nothing.

    Chunks are aligned to multiples of the chunk size. Writing a chunk takes an advisory lock
    on (model version, chunk): a second run scoring the same logs at the same time waits,
    then hits the unique key and upserts the same rows instead (no duplicates either way).
    """
    from . import model

    version, path, sha = require_champion(url)
    bundle = model.load(path, sha)  # raises ArtifactError naming the file before anything is written
    chunk = int(chunk_size or get_settings().chunk_size)
    scored = chunks = 0
    with db.connect(url) as conn:
        for start, _end, frame in _read_ahead(url, _chunk_ranges(lo, hi, chunk), version):
            if not len(frame):
                continue
            with cpu_threads():
                preds = model.predict(bundle, frame)
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_chunk_lock(version, start // chunk),))
                scored += _write_chunk(conn, version, run_id, frame, preds)
                chunks += 1
    return PartitionResult(lo, hi, scored, chunks)


def score_all(url: str | None = None, run_key: str = "manual", partitions: int = 1,
              chunk_size: int | None = None) -> dict:
    """Plan, score every partition in this process, and finish the run (the CLI's path)."""
    url = url or db.database_url()
    run_id = start_run(url, run_key)
    parts = plan_partitions(url, partitions)
    results = [score_partition(url, p["lo"], p["hi"], run_id, chunk_size) for p in parts]
    finish_run(url, run_id)
    return {"run_id": run_id, "partitions": len(parts), "scored": sum(r.scored for r in results)}
