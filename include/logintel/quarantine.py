"""Quarantine: list bad records, and replay them through the same parsers once the cause is fixed
(a raised LOGINTEL_MAX_RECORD_BYTES, a parser that now knows the format).

A replay is one ingest batch, in one transaction: the chosen quarantine rows are taken out, each is
parsed again with its source file's format, and comes back as a log, a duplicate or a quarantine
row (with its reason as it is now), so `read = loaded + duplicates + quarantined` holds for the
replay batch as for any other, and replaying again adds nothing.
"""
from __future__ import annotations

import bisect
import itertools
import tempfile
from pathlib import Path

from . import db
from .ingest import BatchResult, IngestError, load_records, loading_batch
from .sources import Record, detect_format, iter_records
from .sources.reader import read_head
from .sources.record import bad_record

REPLAY_SOURCE = "quarantine replay"


def list_records(url: str, reason: str | None = None, limit: int = 100) -> list[dict]:
    from .display import display_text

    with db.connect(url) as conn:
        rows = db.query(conn, "quarantine/list", {"reason": reason, "limit": limit})
    for r in rows:  # a short, printable look at the bytes (they may be anything)
        r["raw_head"] = display_text(bytes(r["raw_head"] or b"").decode("utf-8", "replace"))
    return rows


def by_reason(url: str, reason: str | None = None) -> list[dict]:
    with db.connect(url) as conn:
        return db.query(conn, "quarantine/by_reason", {"reason": reason})


def _format_of(source: str, raws: list[bytes]) -> str:
    """The source file's format (from the file while it exists, else from the records themselves)."""
    path = Path(source)
    if path.is_file():
        return detect_format(path, read_head(path))
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / path.name.removesuffix(".gz")
        probe.write_bytes(b"\n".join(raws) + b"\n")
        return detect_format(probe, read_head(probe))


def _csv_header(source: str) -> bytes | None:
    path = Path(source)
    if not path.is_file():
        return None
    head = read_head(path)
    return next((line for line in head.splitlines() if line.strip()), None)


def reparse(source: str, rows: list[dict], default_service: str | None = None) -> list[Record]:
    """One record per quarantine row, parsed as its file would be now, with the row's line number."""
    raws = [bytes(r["raw"]) for r in rows]
    fmt = _format_of(source, raws)
    header = _csv_header(source) if fmt == "csv" else None
    if fmt == "csv" and header is None:
        return [bad_record(r["source_line"], raw, f"{r['reason']} (replay: the CSV file and its header are gone)")
                for r, raw in zip(rows, raws)]
    starts, line = [], 2 if header else 1
    for raw in raws:  # where each record starts in the replay file
        starts.append(line)
        line += raw.count(b"\n") + 1
    found: dict[int, list[Record]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "replay"
        path.write_bytes((header + b"\n" if header else b"") + b"\n".join(raws) + b"\n")
        for rec in iter_records(path, fmt=fmt, default_service=default_service):
            found.setdefault(bisect.bisect_right(starts, rec.line) - 1, []).append(rec)
    out = []
    for i, (row, raw) in enumerate(zip(rows, raws)):
        recs = found.get(i, [])
        if len(recs) == 1:
            rec = recs[0]
            rec.line = row["source_line"]
            out.append(rec)
        else:  # a record must come back as one record, or stay where it was
            out.append(bad_record(row["source_line"], raw, f"{row['reason']} (replay: parsed into {len(recs)} records)"))
    return out


def replay(url: str, reason: str | None = None, default_service: str | None = None) -> BatchResult:
    """Replay the quarantined records whose reason contains `reason` (all when None)."""
    with loading_batch(url, [REPLAY_SOURCE + (f": reason contains {reason!r}" if reason else "")]) as (conn, result):
        taken = db.query(conn, "quarantine/take_for_replay", {"reason": reason})
        taken.sort(key=lambda r: (r["source"], r["source_line"], r["id"]))
        for source, group in itertools.groupby(taken, key=lambda r: r["source"]):
            load_records(conn, reparse(source, list(group), default_service), source, result, url=url)
        if result.read != len(taken):
            raise IngestError(f"replay: took {len(taken)} quarantined records but accounted for {result.read}")
    return result


__all__ = ["list_records", "by_reason", "replay", "reparse"]
