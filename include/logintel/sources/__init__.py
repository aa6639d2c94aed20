"""Parsers that turn log files into :class:`Record` objects.

``iter_records(path)`` detects the format (JSON lines, CSV with header incl.
loghub structured CSV, Python logging, log4j, syslog RFC 3164/5424, Apache
error log), reads the file in binary (gzip transparently) and yields one
Record per log record.

Accounting rules - what the rest of the pipeline can rely on:

* Every physical line that is not blank ends up in exactly one Record, either
  as that record's first line or as a continuation line of it (multi-line text
  records, CSV quoted fields spanning lines). Two exceptions by design: the
  header row of a CSV file is not a record, and blank lines are not records.
* Blank lines (empty, or ASCII whitespace only) are skipped silently and are
  NOT counted as records; they still count for line numbering. Inside a
  multi-line text record, blank lines between continuation lines are kept.
* A Record with ``error`` set must be quarantined: a short human reason
  ("unparseable timestamp '31/13/2020'", "unknown level 'LOUD'", "empty
  message", "invalid JSON: ...", "invalid UTF-8 at byte 12", "NUL byte in
  record", "record too long (...)", "truncated gzip: ..."). Its raw bytes are
  kept (truncated to the size limit for over-long records, as the reason says).
* Line numbers are 1-based physical line numbers; ``\\n``, ``\\r\\n`` and lone
  ``\\r`` all end a line. A UTF-8 BOM at the start is ignored.
* A gzip stream that ends early or is corrupt yields every record read so far,
  then one error Record ("truncated gzip: ..." / "corrupt gzip: ...") whose
  raw is the partial last line (b"" when the break fell on a line end) and
  whose line is that line's number.
* Records longer than LOGINTEL_MAX_RECORD_BYTES (default 1 MiB) are
  quarantined with "record too long (N bytes > limit L; raw truncated to L bytes)".
* Nothing is stripped or escaped from messages (SQL, HTML, ANSI codes stay).
* Only a file that cannot be opened at all raises :class:`SourceError`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from logintel.sources.csvfile import parse_csv
from logintel.sources.sniff import FORMATS, detect_format
from logintel.sources.errors import SourceError
from logintel.sources.jsonl import parse_jsonl
from logintel.sources.reader import iter_line_blocks, max_record_bytes, read_head
from logintel.sources.record import Record
from logintel.sources.text import TEXT_FORMATS, parse_text, parse_unknown

__all__ = [
    "FORMATS",
    "Record",
    "SourceError",
    "detect_format",
    "iter_records",
    "max_record_bytes",
]


def _flatten(blocks: Iterator[tuple[int, list[bytes]]]) -> Iterator[tuple[int, bytes]]:
    for start, lines in blocks:
        yield from enumerate(lines, start)


def iter_records(
    path: Path | str,
    fmt: str = "auto",
    default_service: str | None = None,
    *,
    max_bytes: int | None = None,
) -> Iterator[Record]:
    """Yield the records of one log file.

    ``fmt`` is "auto" or one of FORMATS. ``max_bytes`` overrides the record
    size limit (else env LOGINTEL_MAX_RECORD_BYTES, default 1 MiB).
    Raises SourceError immediately (not on first ``next``) when the file
    cannot be opened; every other problem becomes an error Record.
    """
    path = Path(path)
    if fmt != "auto" and fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected 'auto' or one of {FORMATS}")
    limit = max_bytes if max_bytes and max_bytes > 0 else max_record_bytes()
    if path.is_dir():
        raise SourceError(f"cannot read {path}: is a directory")
    if fmt == "auto":
        fmt = detect_format(path, read_head(path))
    blocks = iter_line_blocks(path, limit)  # opens now: SourceError surfaces here
    if fmt == "jsonl":
        return parse_jsonl(blocks, default_service)
    if fmt == "csv":
        return parse_csv(_flatten(blocks), default_service, limit)
    if fmt in TEXT_FORMATS:
        return parse_text(_flatten(blocks), fmt, default_service, limit)
    return parse_unknown(_flatten(blocks))
