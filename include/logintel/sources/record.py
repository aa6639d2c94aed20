"""The Record every source parser produces."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(slots=True)
class Record:
    """One log record (possibly several physical lines).

    ``error`` set means the record must be quarantined; the other fields are
    then best effort and may be None (they are always None when the bytes
    themselves are bad: invalid UTF-8, NUL, too long, truncated gzip).
    """

    line: int  # 1-based number of the record's first physical line
    raw: bytes  # raw bytes as read, without line terminator; lines joined by b"\n"
    ts: datetime | None  # timezone-aware UTC
    level: str | None  # one of logintel.levels.LEVELS
    message: str | None
    service: str | None
    is_anomaly: bool | None
    attrs: dict  # every other field of the source (JSON-serialisable)
    error: str | None = None  # quarantine reason


def bad_record(line: int, raw: bytes, reason: str) -> Record:
    """A record whose bytes could not be interpreted at all."""
    return Record(line, bytes(raw), None, None, None, None, None, {}, reason)
