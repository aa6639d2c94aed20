"""Guess a file's log format from its name and first bytes."""

from __future__ import annotations

import zlib
from pathlib import Path

from logintel.sources.csvfile import looks_like_csv_header
from logintel.sources.text import TEXT_FORMATS, match_start

FORMATS = ("jsonl", "csv", *TEXT_FORMATS, "unknown")
_SAMPLE_LINES = 200
_JSON_EXT = (".jsonl", ".ndjson", ".json")
_CSV_EXT = (".csv", ".tsv")


def _decompressed_head(head: bytes) -> bytes:
    if head[:2] != b"\x1f\x8b":
        return head
    try:  # partial decompression of what we were given; errors mean "unknown"
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head)
    except zlib.error:
        return b""


def detect_format(path: Path, head: bytes) -> str:
    """Return "jsonl", "csv", "python", "log4j", "syslog", "apache" or "unknown".

    ``head`` is the first bytes of the file (gzip-compressed or not). Content
    wins over the extension, except that a .jsonl/.ndjson/.csv/.tsv name is
    trusted when the content is ambiguous (e.g. every sampled line is broken).
    loghub ``*_structured.csv`` files are plain "csv".
    """
    name = Path(path).name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    head = _decompressed_head(head)
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    sample = [
        line.decode("utf-8", "replace")
        for line in head.splitlines()[:_SAMPLE_LINES * 2]
        if line.strip()
    ][:_SAMPLE_LINES]
    ext_fmt = (
        "jsonl" if name.endswith(_JSON_EXT) else "csv" if name.endswith(_CSV_EXT) else None
    )
    if not sample:
        return ext_fmt or "unknown"
    json_like = sum(1 for line in sample if line.lstrip().startswith("{"))
    if json_like * 2 > len(sample):
        return "jsonl"
    if looks_like_csv_header(sample[0]):
        return "csv"
    if ext_fmt:
        return ext_fmt
    best, best_count = "unknown", 0
    for fmt in TEXT_FORMATS:
        count = sum(1 for line in sample if match_start(fmt, line))
        if count > best_count:
            best, best_count = fmt, count
    if best_count == 0 and json_like:
        return "jsonl"
    return best
