"""Ingest log files into `logintel.logs`: parse, dedupe, COPY, quarantine the rest.

One batch is one transaction: either every record read is accounted for
(loaded, duplicate or quarantined) and committed, or nothing is written.
"""
from __future__ import annotations

import gc
import hashlib
import json
import logging
import queue
import threading
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path
from typing import Callable, Iterable, Iterator

import msgspec
import psycopg

from . import db, masking_worker, template_catalog
from .durations import message_duration_ms
from .hashing import file_sha256
from .masking import MASKER_VERSION, thread_masker
from .progress import RowProgress
from .settings import get_settings, mask_url
from .sources import Record, iter_records

log = logging.getLogger(__name__)

LANDING_PATTERNS = ("*.jsonl", "*.json", "*.csv", "*.log", "*.txt", "*.gz")
# Occurrence counters are reset at fixed points so memory stays flat; the reset points
# depend only on the file's content, so reloading a file yields the same keys.
_OCCURRENCE_RESET = 500_000
_PROGRESS_EVERY = 10_000  # records between two progress-bar updates


class IngestError(RuntimeError):
    """Records went missing between the parser and the database: the batch is rolled back."""


@dataclass
class BatchResult:
    batch_id: int
    read: int = 0
    loaded: int = 0
    duplicates: int = 0
    quarantined: int = 0
    files: list[str] = field(default_factory=list)
    skipped_files: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def _dedupe_key(rec: Record, counts: dict[bytes, int]) -> str:
    """md5 of the record's content and its occurrence number in the file, as uuid text."""
    if len(counts) >= _OCCURRENCE_RESET:
        counts.clear()
    content = f"{rec.ts.isoformat()}\x1f{rec.level}\x1f{rec.service}\x1f{rec.message}".encode("utf-8", "surrogatepass")
    digest = hashlib.md5(content).digest()
    n = counts.get(digest, 0)
    counts[digest] = n + 1
    if n:
        digest = hashlib.md5(digest + n.to_bytes(4, "big")).digest()
    return digest.hex()  # Postgres reads 32 hex digits as a uuid; cheaper than uuid.UUID


_encode_json = msgspec.json.Encoder().encode
_PLAIN_JSON = frozenset({str, int, float, bool, type(None), dict, list})


def attrs_text(attrs: dict) -> str:
    """A record's attrs as JSON text: msgspec for plain JSON values (what JSON, CSV and text sources
    give; 6x faster than json.dumps, the same jsonb once stored), json.dumps with str() for the rest
    (a table source's dates, decimals or uuids, which msgspec would write in formats of its own)."""
    if not attrs:
        return "{}"
    if all(v.__class__ in _PLAIN_JSON for v in attrs.values()):
        try:
            return _encode_json(attrs).decode()
        except (msgspec.EncodeError, TypeError, UnicodeError):
            pass  # e.g. a lone surrogate: json.dumps keeps it, and the COPY reports it as before
    return json.dumps(attrs, ensure_ascii=False, default=str)


STAGE_COLUMNS = ["ts", "service", "source", "source_line", "level", "message", "is_anomaly", "attrs",
                 "message_duration_ms", "dedupe_key", "template_key", "raw", "error"]
_DEDUPE_KEY, _TEMPLATE_KEY, _ERROR = 9, 10, 12  # positions in a staging row
# a loaded record: the first nine staging columns, then its batch, key and catalog id
LOG_COLUMNS = STAGE_COLUMNS[:9] + ["ingest_batch_id", "dedupe_key", "template_id"]


class _LineProgress:
    """Lines for the progress bar, with the total estimated from the files' sizes and the bytes
    per line so far (plain files; a .gz file's lines are not known from its size: no total)."""

    def __init__(self, bar: RowProgress, paths: list[Path]) -> None:
        self.bar = bar
        self.size = None if any(p.suffix == ".gz" for p in paths) else sum(p.stat().st_size for p in paths)
        self.lines = self.seen = 0

    def advance(self, lines: int, nbytes: int) -> None:
        self.lines += lines
        self.seen += nbytes
        if self.size and self.seen:
            self.bar.total(max(self.lines, round(self.size * self.lines / self.seen)))
        self.bar.advance(lines)

    def skip(self, path: Path) -> None:  # a file loaded already: its bytes are not coming
        if self.size:
            self.size -= path.stat().st_size


def _counted(records: Iterable[Record], tally: dict[str, int], progress: _LineProgress | None) -> Iterator[Record]:
    """The records as they pass, counted in `tally["read"]` and on the progress bar."""
    raw_bytes = 0
    for rec in records:
        tally["read"] += 1
        if progress is not None:
            raw_bytes += len(rec.raw) + 1
            if not tally["read"] % _PROGRESS_EVERY:
                progress.advance(_PROGRESS_EVERY, raw_bytes)
                raw_bytes = 0
        yield rec


def _bad_row(rec: Record, source: str) -> tuple:
    return (None, None, source, rec.line, None, None, None, None, None, None, None, rec.raw, rec.error)


def _good_head(rec: Record, source: str) -> tuple:
    """A good record's staging row up to its duration (then: duration, dedupe key, template key,
    raw, error)."""
    return (rec.ts, rec.service, source, rec.line, rec.level, rec.message, rec.is_anomaly, attrs_text(rec.attrs))


def _stage_rows(records: Iterable[Record], source: str, tally: dict[str, int],
                dedupe: Callable[[Record], str] | None = None, *, keys: set[str] | None = None,
                progress: _LineProgress | None = None) -> Iterator[tuple]:
    """Staging rows for every record, one at a time (the rows of `_stage_chunks`): good ones with
    a dedupe key (content + occurrence in the file, or `dedupe(record)`: a table source's primary
    key) and their template key (added to `keys`), bad ones with raw bytes and reason."""
    for chunk in _stage_chunks(records, source, tally, dedupe, progress):
        if keys is not None:
            keys.update(r[_TEMPLATE_KEY] for r in chunk if r[_ERROR] is None)
        yield from chunk


def _stage_chunks(records: Iterable[Record], source: str, tally: dict[str, int],
                  dedupe: Callable[[Record], str] | None, progress: _LineProgress | None) -> Iterator[list[tuple]]:
    """Staging rows in lists of LOGINTEL_INGEST_CHUNK_ROWS. From the second chunk on, a chunk's
    messages are masked in a helper process (masking_worker) while this thread works out its other
    columns; a load of one chunk never starts one."""
    counts: dict[bytes, int] = {}
    rest = _counted(records, tally, progress)
    size = get_settings().ingest_chunk_rows  # LOGINTEL_INGEST_CHUNK_ROWS
    masking: masking_worker.MaskingWorker | masking_worker.InProcessMasking = masking_worker.InProcessMasking()
    try:
        while chunk := list(islice(rest, size)):
            good = [r for r in chunk if r.error is None]
            reply = masking.submit([r.message for r in good])  # masked elsewhere meanwhile
            heads = [_good_head(r, source) for r in good]
            dedupe_keys = [dedupe(r) if dedupe else _dedupe_key(r, counts) for r in good]
            keys, durations = reply()
            rows = iter(zip(heads, durations, dedupe_keys, keys))
            staged = []
            for rec in chunk:
                if rec.error is None:
                    head, duration, dedupe_key, key = next(rows)
                    staged.append(head + (duration, dedupe_key, key, None, None))
                else:
                    staged.append(_bad_row(rec, source))
            yield staged
            if len(chunk) == size and isinstance(masking, masking_worker.InProcessMasking):
                masking = masking_worker.start(wanted=True)  # more to come: worth a process
    finally:
        masking.close()


def chunks_ahead(chunks: Iterator[list[tuple]]) -> Iterator[list[tuple]]:
    """The `chunks`, built by a thread one chunk ahead of the caller: parsing and masking the next
    chunk overlap the server's work on this one (the loader waits on its connection with the GIL
    released). An error of the thread is raised here; closing this generator stops the thread."""
    ready: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for chunk in chunks:
                if not put(chunk):
                    return
            put(None)
        except BaseException as exc:  # handed to the caller, raised there
            put(exc)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()  # a generator's cleanup (the masking helper process ends with the load)

    worker = threading.Thread(target=produce, name="logintel-ingest-reader", daemon=True)
    worker.start()
    try:
        while (item := ready.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()


@contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cycle collector off while a load runs: records and rows make no reference cycles,
    but their millions of allocations made it scan the chunks in flight again and again (about
    15 % of the load's Python time at 1M lines)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def ensure_partitions(url: str) -> int:
    """The day partitions of `logs` around now, created when missing (a short transaction of its
    own: creating a partition locks the parent table). Returns how many were created."""
    with db.transaction(url) as conn:
        return int(conn.execute(db.sql("ingest/ensure_partitions")).fetchone()[0])


def _open_batch(url: str, sources: list[str]) -> int:
    ensure_partitions(url)
    with db.transaction(url) as conn:
        return conn.execute("INSERT INTO logintel.ingest_batches (sources) VALUES (%s) RETURNING id",
                            (sources,)).fetchone()[0]


def fail_stale_batches(url: str) -> list[int]:
    """Mark failed the batches a dead process left 'running' (so no report shows a batch that never ends)."""
    with db.transaction(url) as conn:
        return [r[0] for r in conn.execute(db.sql("ingest/fail_stale_batches"))]


def _already_loaded(conn: psycopg.Connection, sha: str) -> bool:
    return conn.execute("SELECT 1 FROM logintel.ingested_files WHERE sha256 = %s", (sha,)).fetchone() is not None


@contextmanager
def loading_batch(url: str, sources: list[str]) -> Iterator[tuple[psycopg.Connection, BatchResult]]:
    """One ingest batch, one transaction: yields (connection, result) with the staging table ready;
    on success the batch's counts are checked and stored, on any error it is marked failed (why)."""
    fail_stale_batches(url)
    batch_id = _open_batch(url, sources)
    result = BatchResult(batch_id=batch_id)
    try:
        with db.transaction(url) as conn:
            conn.execute(db.sql("ingest/lock_batch"), {"batch_id": batch_id})
            conn.execute("SET LOCAL work_mem = '256MB'")
            conn.execute(db.sql("ingest/stage"))
            yield conn, result
            template_catalog.recount_batches(conn, [batch_id])
            conn.execute(db.sql("ingest/finish_batch"), {
                "batch_id": batch_id, "read": result.read, "loaded": result.loaded,
                "duplicates": result.duplicates, "quarantined": result.quarantined})
    except BaseException as exc:
        with db.transaction(url) as conn:
            conn.execute(db.sql("ingest/fail_batch"), {"batch_id": batch_id,
                                                       "reason": f"{type(exc).__name__}: {exc}"[:1000]})
        raise


def load_records(conn: psycopg.Connection, records: Iterable[Record], source: str, result: BatchResult,
                 dedupe: Callable[[Record], str] | None = None, *, url: str,
                 progress: _LineProgress | None = None) -> int:
    """Load `records` of `source` chunk by chunk, straight into `logs`: each chunk's dedupe keys are
    claimed in `log_keys` first, then the records whose key was new are COPYed with their catalog id
    (no staging copy of the good records); the bad ones are staged and quarantined at the end. Adds
    the counts to `result`; returns how many records were read."""
    tally = {"read": 0}
    conn.execute("TRUNCATE ingest_stage")
    conn.execute(db.sql("ingest/stage_keys"))
    ids: dict[str, int] = {}
    batch_id = result.batch_id
    received = loaded = duplicates = 0
    with gc_paused():
        for chunk in chunks_ahead(_stage_chunks(records, source, tally, dedupe, progress)):
            good = [r for r in chunk if r[_ERROR] is None]
            if len(good) < len(chunk):
                received += db.copy_rows(conn, "ingest_stage", STAGE_COLUMNS, (r for r in chunk if r[_ERROR] is not None))
            if not good:
                continue
            new_keys = {r[_TEMPLATE_KEY] for r in good}.difference(ids)
            if new_keys:  # committed apart from the batch (see template_catalog.ensure_ids)
                ids.update(template_catalog.ensure_ids(url, new_keys))
            conn.execute("TRUNCATE ingest_keys")
            received += db.copy_rows(conn, "ingest_keys", ["ord", "dedupe_key"],
                                     ((i, r[_DEDUPE_KEY]) for i, r in enumerate(good)))
            fresh = sorted(o for (o,) in conn.execute(db.sql("ingest/claim_keys")))
            # a duplicate is a record whose key the server found stored or repeated, never "the rest":
            # a fresh record that fails to load breaks the batch's read = loaded + duplicates + quarantined
            duplicates += len(good) - len(fresh)
            loaded += db.copy_rows(conn, "logintel.logs", LOG_COLUMNS,
                                   (good[i][:9] + (batch_id, good[i][_DEDUPE_KEY], ids[good[i][_TEMPLATE_KEY]])
                                    for i in fresh))
    if progress is not None:
        progress.advance(tally["read"] % _PROGRESS_EVERY, 0)
    read = tally["read"]
    if received != read:  # the COPYs lost or invented records (both counts are the server's)
        raise IngestError(f"{source}: read {read} records but staged {received}")
    staged = db.query_one(conn, "ingest/stage_counts")  # the bad records: the only ones staged now
    result.duplicates += duplicates + staged["bad_stored"] + staged["bad_repeated"]
    result.loaded += loaded
    result.quarantined += conn.execute(db.sql("ingest/quarantine"), {"batch_id": batch_id}).rowcount
    result.read += read
    result.files.append(source)
    return read


def merge_staged(conn: psycopg.Connection, source: str, read: int, result: BatchResult, *, url: str,
                 keys: Iterable[str] = ()) -> int:
    """Merge the staged good records into `logs`, quarantine the bad ones, check that all `read`
    records are staged, and add the counts to `result`; returns `read`. `keys`: the staged
    template keys, given catalog ids first (committed apart from the batch) for the merge to join."""
    template_catalog.ensure_ids(url, keys)
    staged = db.query_one(conn, "ingest/stage_counts")
    if staged["good"] + staged["bad"] != read:  # the COPY lost or invented records
        raise IngestError(f"{source}: read {read} records but staged {staged['good'] + staged['bad']}")
    # Duplicates are counted as what they are (rows whose key is stored already, or repeats in the
    # file), never as "the rest": then the batch's check read = loaded + duplicates + quarantined
    # catches a record that was lost.
    result.duplicates += staged["good_stored"] + staged["good_repeated"] + staged["bad_stored"] + staged["bad_repeated"]
    if staged["good_repeated"]:
        conn.execute(db.sql("ingest/drop_repeats"))
    # a temp table has no statistics: without them the planner takes the stage for a few rows and
    # joins the catalog by nested loop (300,000 rows x 500 templates: 6 s instead of 0.1 s)
    conn.execute("ANALYZE ingest_stage")
    result.loaded += conn.execute(db.sql("ingest/merge"), {"batch_id": result.batch_id,
                                                           "masker_version": MASKER_VERSION}).rowcount
    result.quarantined += conn.execute(db.sql("ingest/quarantine"), {"batch_id": result.batch_id}).rowcount
    result.read += read
    result.files.append(source)
    return read


def ingest_paths(paths: Iterable[Path], *, default_service: str | None = None, fmt: str = "auto",
                 url: str, progress: RowProgress | None = None) -> BatchResult:
    """Load files as one batch. Files already loaded in full (same sha256) are skipped."""
    paths = [Path(p).resolve() for p in paths]
    for p in paths:
        if not p.is_file():
            raise FileNotFoundError(f"no such log file: {p}")
    lines = _LineProgress(progress, paths) if progress is not None else None
    with loading_batch(url, [str(p) for p in paths]) as (conn, result):
        seen_in_batch: set[str] = set()
        for path in paths:
            sha = file_sha256(path)
            if sha in seen_in_batch or _already_loaded(conn, sha):
                result.skipped_files.append(str(path))
                if lines is not None:
                    lines.skip(path)
                continue
            seen_in_batch.add(sha)
            read = load_records(conn, iter_records(path, fmt=fmt, default_service=default_service), str(path), result,
                                url=url, progress=lines)
            conn.execute(db.sql("ingest/record_file"), {"sha256": sha, "path": str(path),
                                                        "size_bytes": path.stat().st_size,
                                                        "batch_id": result.batch_id, "records": read})
    if result.loaded:
        with db.connect(url, autocommit=True) as conn:
            # Autovacuum lags bulk loads; the next steps plan their joins on these statistics.
            conn.execute("ANALYZE logintel.logs")
    log.info("ingest batch %s into %s: read %d = loaded %d + duplicates %d + quarantined %d (%d files skipped)",
             result.batch_id, mask_url(url), result.read, result.loaded, result.duplicates, result.quarantined,
             len(result.skipped_files))
    return result


def expand_paths(paths: Iterable[Path | str]) -> list[Path]:
    """Files as given, folders scanned for log files (``scan_landing``); a path that does not
    exist is an error (FileNotFoundError naming it), not an empty result."""
    files: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            files.extend(scan_landing(p))
        elif p.exists():
            files.append(p)
        else:
            raise FileNotFoundError(f"no such file or folder: {p}")
    return files


def ingest_sources(paths: Iterable[Path | str], *, url: str, default_service: str | None = None,
                   fmt: str = "auto", progress: RowProgress | None = None) -> BatchResult | None:
    """The ingest service of the CLI and the DAG: expand folders, load the files as one batch;
    None when there is nothing to load (no batch is opened)."""
    files = expand_paths(paths)
    if not files:
        return None
    return ingest_paths(files, default_service=default_service, fmt=fmt, url=url, progress=progress)


def scan_landing(folder: Path) -> list[Path]:
    """Files in the landing folder, oldest name first; the ingest skips those already loaded."""
    if not folder.exists():
        return []
    found: set[Path] = set()
    for pattern in LANDING_PATTERNS:
        found.update(p for p in folder.rglob(pattern) if p.is_file())
    return sorted(found)
