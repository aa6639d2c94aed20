"""Batch scoring: every log without a champion prediction, in id-range partitions and chunks.

Each chunk is read with COPY, scored (one template scored once, the cache shared across
chunks) and written with one binary COPY (``binary_copy``) in one transaction, so a crash
leaves whole chunks or nothing; a chunk another run wrote meanwhile is upserted instead.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator

import psycopg

from . import db, registry, run_counts, template_catalog
from .progress import RowProgress
from .registry import ModelRef

if TYPE_CHECKING:
    from .binary_copy import Fixed, Text
from .settings import cpu_threads, get_settings, mask_url

log = logging.getLogger(__name__)
PRED_COLUMNS = ["log_id", "template_key", "predicted_level", "confidence", "anomaly_score", "predicted_anomaly",
                "duration_ms"]


@dataclass(frozen=True)
class ScoringRun:
    """One scoring run: created once by the plan step, then handed to every partition and to the
    finishing and findings steps (through XCom in the DAG), never looked up again."""

    run_id: int
    run_key: str
    model: ModelRef

    def as_dict(self) -> dict:
        return {"run_id": self.run_id, "run_key": self.run_key, **self.model.as_dict()}

    @classmethod
    def from_dict(cls, data: dict) -> "ScoringRun":
        return cls(int(data["run_id"]), str(data["run_key"]),
                   ModelRef(str(data["version"]), str(data["artifact_path"]), str(data["sha256"])))


@dataclass
class PartitionResult:
    lo: int
    hi: int
    scored: int
    chunks: int


def start_run(url: str, run_key: str) -> ScoringRun:
    """Create the run `run_key` with the champion; a run that exists already keeps its model."""
    champion = registry.require_champion(url)
    # logs stored without a catalog id (before the catalog, by an older release) get one first,
    # once; then no scoring run masks a message again
    template_catalog.assign(url)
    _summarize_ts_ranges(url)
    with db.transaction(url) as conn:
        stale = conn.execute(db.sql("scoring/fail_stale_runs"),
                             {"run_key": run_key, "minutes": get_settings().stale_run_minutes}).fetchall()
        if stale:
            log.warning("scoring runs left running by a dead DAG run, now marked failed: %s",
                        ", ".join(r[0] for r in stale))
        run_id, version = conn.execute(db.sql("scoring/start_run"),
                                       {"run_key": run_key, "model_version": champion.version}).fetchone()
        model = champion if version == champion.version else registry.model_ref(conn, version)
    return ScoringRun(int(run_id), run_key, model)


def _summarize_ts_ranges(url: str) -> None:
    """Summarize the logs' new BRIN time ranges before the reads use them (a few tenths of a second
    per million new logs); a database user that may not (not the index's owner) only loses speed."""
    try:
        with db.connect(url, autocommit=True) as conn:
            conn.execute(db.sql("scoring/summarize_ts_ranges"))
    except psycopg.errors.InsufficientPrivilege as exc:
        log.info("the logs' time index is not summarized before scoring (%s): reads stay correct, if slower",
                 str(exc).splitlines()[0])


def plan_partitions(url: str, run: ScoringRun, partitions: int) -> list[dict]:
    """Id ranges of about equal numbers of logs the run's model has not scored yet."""
    partitions = max(1, int(partitions))
    with db.connect(url) as conn:
        rows = conn.execute(db.sql("scoring/partitions" if partitions > 1 else "scoring/partition_one"),
                            {"model_version": run.model.version, "partitions": partitions}).fetchall()
    return [{"lo": int(lo), "hi": int(hi), "n": int(n)} for _, lo, hi, n in rows]


def finish_run(url: str, run: ScoringRun) -> int:
    with db.connect(url, autocommit=True) as conn:
        # Fresh statistics: the findings queries join millions of new predictions.
        conn.execute("ANALYZE logintel.ml_predictions")
    with db.transaction(url) as conn:
        scored = conn.execute(db.sql("scoring/finish_run"), {"run_id": run.run_id}).fetchone()[0]
    log.info("scoring run %s (%s) on %s done: %d predictions by model %s", run.run_id, run.run_key, mask_url(url),
             scored, run.model.version)
    return scored


def _prediction_columns(frame, preds, version: str, run_id: int) -> "list[Fixed | Text]":
    """The chunk's predictions as binary-COPY columns, in PRED_COLUMNS order, then the model
    version and the run (the text columns as codes into their few distinct values)."""
    import numpy as np
    import pandas as pd

    from .binary_copy import Fixed, Text
    from .durations import line_durations_ms

    n = len(frame)
    keys, key_values = pd.factorize(preds["template_key"].to_numpy(dtype=object))
    levels, level_values = pd.factorize(preds["predicted_level"].to_numpy(dtype=object))
    # the duration a line reports: what tells a latency episode's lines from ordinary ones (NaN: NULL)
    duration = line_durations_ms(frame).astype(np.float32)
    return [Fixed(frame["id"].to_numpy(dtype=np.int64), "int8"),
            Text(keys, list(key_values)), Text(levels, list(level_values)),
            Fixed(preds["confidence"].to_numpy(dtype=np.float64), "float4"),
            Fixed(preds["anomaly_score"].to_numpy(dtype=np.float64), "float4"),
            Fixed(preds["predicted_anomaly"].to_numpy(dtype=bool), "bool"),
            Fixed(duration, "float4", null=np.isnan(duration)),
            Text(np.zeros(n, dtype=np.int64), [version]), Fixed(np.full(n, run_id, dtype=np.int64), "int8")]


def _chunk_lock(version: str, start: int) -> int:
    """Advisory-lock key of one chunk of one model version (signed 64-bit)."""
    digest = hashlib.blake2b(f"{version}:{start}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _write_chunk(conn, run: ScoringRun, start: int, frame, preds, history_max_id: int) -> int:
    """COPY the chunk's predictions straight into ml_predictions (binary, built with NumPy), and
    its counts (run_counts.py); if another run wrote some of them meanwhile (a unique violation),
    fall back to staging + upsert for this chunk, and mark the run uncounted."""
    from .binary_copy import encode

    version = run.model.version
    columns = _prediction_columns(frame, preds, version, run.run_id)
    try:
        with conn.transaction():  # a savepoint: the fallback keeps the chunk's transaction
            with conn.cursor().copy(db.sql("scoring/copy_predictions")) as copy:
                copy.write(encode(columns, len(frame)))
        run_counts.record(conn, run.run_id, start, frame, preds["template_key"].to_numpy(dtype=object),
                          history_max_id)
        return len(frame)
    except psycopg.errors.UniqueViolation:
        conn.execute(db.sql("scoring/predictions_stage"))
        conn.execute("TRUNCATE predictions_stage")
        with conn.cursor().copy(db.sql("scoring/copy_predictions_stage")) as copy:
            copy.write(encode(columns[:len(PRED_COLUMNS)], len(frame)))
        run_counts.mark_uncounted(conn, run.run_id)
        return conn.execute(db.sql("scoring/predictions_upsert"), {"model_version": version, "run_id": run.run_id}).rowcount


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


def score_partition(url: str, run: ScoringRun, lo: int, hi: int, chunk_size: int | None = None,
                    progress: RowProgress | None = None) -> PartitionResult:
    """Score the logs with id in [lo, hi] the run's model has not scored, chunk by chunk; each
    chunk is written in one transaction, so a crash leaves whole chunks or nothing.

    Chunks are aligned to multiples of the chunk size. Writing a chunk takes an advisory lock
    on (model version, chunk): a second run scoring the same logs at the same time waits,
    then hits the unique key and upserts the same rows instead (no duplicates either way).

    Three chunks are in flight: the next one read (a thread), this one scored, the previous one
    written (a second thread, its own connection): PostgreSQL inserts a chunk's predictions
    while this process scores the next one. A failed write stops the partition at the next
    chunk; the chunks written before it stay.
    """
    from concurrent.futures import Future, ThreadPoolExecutor

    from . import ml

    version = run.model.version
    chunk = int(chunk_size or get_settings().chunk_size)
    scored = chunks = 0

    with db.connect(url) as conn, ThreadPoolExecutor(max_workers=1) as writer:
        # the model loads in the writer thread while the first chunk is read; an ArtifactError
        # (naming the file) is raised before anything is written, also for a partition with no rows
        loading = writer.submit(ml.load, run.model.artifact_path, run.model.sha256)
        bundle = None
        history_max_id = run_counts.max_log_id(conn, version)
        conn.commit()

        def write(start: int, frame, preds) -> int:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_chunk_lock(version, start // chunk),))
                n = _write_chunk(conn, run, start, frame, preds, history_max_id)
            if progress is not None:
                progress.advance(len(frame))
            return n

        pending: Future | None = None
        for start, _end, frame in _read_ahead(url, _chunk_ranges(lo, hi, chunk), version):
            if not len(frame):
                continue
            if bundle is None:
                bundle = loading.result()
            with cpu_threads():
                preds = ml.predict(bundle, frame)
            if pending is not None:  # one write in flight: memory stays at three chunks
                scored += pending.result()
                chunks += 1
            pending = writer.submit(write, start, frame, preds)
        if pending is not None:
            scored += pending.result()
            chunks += 1
        loading.result()
    return PartitionResult(lo, hi, scored, chunks)


def score_all(url: str, run_key: str = "manual", partitions: int = 1, chunk_size: int | None = None,
              progress: RowProgress | None = None) -> dict:
    """Plan, score every partition in this process, and finish the run (the CLI's path)."""
    from concurrent.futures import ThreadPoolExecutor

    from . import coverage, drift

    run = start_run(url, run_key)
    parts = plan_partitions(url, run, partitions)
    if progress is not None:
        progress.total(sum(p["n"] for p in parts))
    results = [score_partition(url, run, p["lo"], p["hi"], chunk_size, progress) for p in parts]
    scored = sum(r.scored for r in results)
    # the coverage snapshot (a pass over every log) on the other core while the run is closed
    # (its ANALYZE) and its drift taken: they read and write different rows
    with ThreadPoolExecutor(max_workers=1) as pool:
        covering = pool.submit(coverage.take_snapshot, url, run.run_id, scored)
        finish_run(url, run)
        drifted = drift.take_snapshot(url, run.run_id)
        cover = covering.result()
    return {"run_id": run.run_id, "model_version": run.model.version, "partitions": len(parts),
            "scored": scored,
            "coverage": {r["service"]: round(float(r["coverage"]), 4) for r in cover},
            "unseen_template_share": {r["service"]: round(float(r["unseen_template_share"]), 4) for r in drifted}}
