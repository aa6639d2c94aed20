"""Binary line splitting: gzip, BOM, CR/LF/CRLF, over-long lines, read failures.

The parsers never touch the file themselves; they consume blocks of physical
lines from :func:`iter_line_blocks`:

* lines are ``bytes`` without their terminator; ``\\n``, ``\\r\\n`` and a lone
  ``\\r`` each end a line (CRLF counts once, also when split across reads);
* line numbers are 1-based and count every physical line, empty ones included;
* a UTF-8 BOM at the very start of the (decompressed) stream is dropped;
* gzip is used when the name ends in ``.gz`` or the file starts with the gzip
  magic bytes;
* a line longer than the record limit, or the tail of a stream that failed
  (truncated gzip, I/O error), arrives as a :class:`BadLine` - a ``bytes``
  subclass carrying the quarantine ``reason``. Parsers turn it into one error
  Record. A read failure is always the last item.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from logintel.settings import get_settings
from logintel.sources.errors import SourceError

HEAD_BYTES = 64 * 1024
_CHUNK = 256 * 1024
_BOM = b"\xef\xbb\xbf"
_GZIP_MAGIC = b"\x1f\x8b"


class BadLine(bytes):
    """A physical line that cannot become a normal record.

    The bytes are what was kept of the line (possibly truncated, possibly
    empty); ``reason`` is the quarantine reason; ``fatal`` marks a stream
    failure after which nothing more can be read.
    """

    reason: str
    fatal: bool

    def __new__(cls, data: bytes, reason: str, fatal: bool = False) -> "BadLine":
        obj = super().__new__(cls, data)
        obj.reason = reason
        obj.fatal = fatal
        return obj


def max_record_bytes() -> int:
    """The record size limit: LOGINTEL_MAX_RECORD_BYTES (default 1 MiB; a bad value is an error)."""
    return get_settings().max_record_bytes


def keep_bytes(limit: int) -> int:
    """How much of an over-long record quarantine keeps: every byte up to LOGINTEL_QUARANTINE_MAX_BYTES
    (default 64 MiB, far above the record limit), so `logintel quarantine replay` can load it later."""
    return max(limit, get_settings().quarantine_max_bytes)


def too_long_reason(size: int, limit: int, keep: int | None = None) -> str:
    kept = "raw kept whole" if keep is not None and size <= keep else f"raw truncated to {keep or limit} bytes"
    return f"record too long ({size} bytes > limit {limit}; {kept})"


def _is_gzip(path: Path, fh: BinaryIO) -> bool:
    magic = fh.read(2)
    fh.seek(0)
    return magic == _GZIP_MAGIC or path.name.lower().endswith(".gz")


def open_stream(path: Path) -> BinaryIO:
    """Open a file for binary reading, transparently decompressing gzip.

    Raises SourceError when the file cannot be opened at all.
    """
    try:
        fh: BinaryIO = open(path, "rb")  # noqa: SIM115 - closed by the caller
    except OSError as exc:
        raise SourceError(f"cannot open {path}: {exc.strerror or exc}") from exc
    try:
        if _is_gzip(path, fh):
            return gzip.GzipFile(fileobj=fh, mode="rb")  # type: ignore[return-value]
    except OSError as exc:  # e.g. a directory on some platforms, unseekable special files
        fh.close()
        raise SourceError(f"cannot read {path}: {exc}") from exc
    return fh


def _close(stream: BinaryIO) -> None:
    inner = getattr(stream, "fileobj", None)
    stream.close()
    if inner is not None:  # GzipFile does not close a fileobj it was given
        inner.close()


def _failure_reason(exc: BaseException, gzipped: bool) -> str:
    detail = str(exc) or type(exc).__name__
    if gzipped and isinstance(exc, EOFError):
        return f"truncated gzip: {detail}"
    if gzipped and isinstance(exc, (gzip.BadGzipFile, zlib.error)):
        return f"corrupt gzip: {detail}"
    return f"read error: {detail}"


def read_head(path: Path, size: int = HEAD_BYTES) -> bytes:
    """First ``size`` decompressed bytes (BOM stripped) for format detection.

    Read failures are swallowed here: the same failure will surface as an
    error Record when the file is iterated.
    """
    stream = open_stream(path)
    parts: list[bytes] = []
    got = 0
    try:
        while got < size:
            chunk = stream.read(size - got)
            if not chunk:
                break
            parts.append(chunk)
            got += len(chunk)
    except (OSError, EOFError, zlib.error):
        pass
    finally:
        _close(stream)
    head = b"".join(parts)
    return head[3:] if head.startswith(_BOM) else head


def iter_line_blocks(path: Path, limit: int) -> Iterator[tuple[int, list[bytes]]]:
    """Yield ``(first_line_number, lines)`` blocks covering the whole file.

    SourceError is raised by this call, not by the first ``next``; the file is
    only kept open while the returned iterator runs, so an iterator that is
    never started leaks no file handle.
    """
    _close(open_stream(path))

    def blocks() -> Iterator[tuple[int, list[bytes]]]:
        stream = open_stream(path)
        yield from _blocks(stream, isinstance(stream, gzip.GzipFile), limit)

    return blocks()


def _split_checked(data: bytes, limit: int, keep: int) -> list[bytes]:
    lines = data.splitlines()
    if len(data) > limit:  # only then can one of the lines be too long
        for i, line in enumerate(lines):
            if len(line) > limit:
                lines[i] = BadLine(line[:keep], too_long_reason(len(line), limit, keep))
    return lines


def _first_terminator(data: bytes) -> int:
    lf = data.find(b"\n")
    cr = data.find(b"\r")
    if lf < 0:
        return cr
    if cr < 0:
        return lf
    return min(lf, cr)


def _blocks(stream: BinaryIO, gzipped: bool, limit: int) -> Iterator[tuple[int, list[bytes]]]:
    keep = keep_bytes(limit)
    lineno = 1
    carry = b""
    skip_lf = False  # previous read ended in "\r": a leading "\n" belongs to it
    at_start = True  # BOM not yet checked
    # "discard mode": inside a line already longer than the limit
    long_prefix: bytearray | None = None
    long_size = 0
    try:
        while True:
            try:
                # read1: at most one underlying read, so a failing gzip loses
                # no already-decompressed data buffered inside read().
                chunk = stream.read1(_CHUNK)
            except (OSError, EOFError, zlib.error) as exc:
                reason = _failure_reason(exc, gzipped)
                tail = bytes(long_prefix) if long_prefix is not None else carry[:keep]
                yield lineno, [BadLine(tail, reason, fatal=True)]
                return
            if not chunk:
                break
            if at_start:
                carry += chunk
                if len(carry) < 3 and _BOM.startswith(carry):
                    continue  # too short to decide about a BOM yet
                at_start = False
                chunk = carry[3:] if carry.startswith(_BOM) else carry
                carry = b""
            if skip_lf:
                skip_lf = False
                if chunk[:1] == b"\n":
                    chunk = chunk[1:]
                    if not chunk:
                        continue
            if long_prefix is not None:
                end = _first_terminator(chunk)
                part = chunk if end < 0 else chunk[:end]
                if len(long_prefix) < keep:  # keep the record's bytes up to the quarantine's hard limit
                    long_prefix += part[: keep - len(long_prefix)]
                long_size += len(part)
                if end < 0:
                    continue
                yield lineno, [BadLine(bytes(long_prefix), too_long_reason(long_size, limit, keep))]
                lineno += 1
                long_prefix = None
                if chunk[end] == 13:  # "\r"
                    if end + 1 == len(chunk):
                        skip_lf = True
                    elif chunk[end + 1] == 10:
                        end += 1
                chunk = chunk[end + 1 :]
                if not chunk:
                    continue
            buf = carry + chunk if carry else chunk
            last = max(buf.rfind(b"\n"), buf.rfind(b"\r"))
            if last < 0:
                carry = buf
                if len(carry) > limit:
                    long_prefix = bytearray(carry[:keep])  # grown in place while discarding
                    long_size = len(carry)
                    carry = b""
                continue
            if last == len(buf) - 1 and buf[last] == 13:
                skip_lf = True
            lines = _split_checked(buf[: last + 1], limit, keep)
            carry = buf[last + 1 :]
            if len(carry) > limit:
                long_prefix = bytearray(carry[:keep])  # grown in place while discarding
                long_size = len(carry)
                carry = b""
            yield lineno, lines
            lineno += len(lines)
        # end of stream
        if at_start and carry:
            if carry.startswith(_BOM):
                carry = carry[3:]
        if long_prefix is not None:
            yield lineno, [BadLine(bytes(long_prefix), too_long_reason(long_size, limit, keep))]
        elif carry:  # last line without a final newline
            yield lineno, _split_checked(carry, limit, keep)
    finally:
        _close(stream)


def iter_lines(path: Path, limit: int) -> Iterator[tuple[int, bytes]]:
    """Flattened :func:`iter_line_blocks`: ``(line_number, line)`` pairs."""
    blocks = iter_line_blocks(path, limit)

    def gen() -> Iterator[tuple[int, bytes]]:
        for start, lines in blocks:
            yield from enumerate(lines, start)

    return gen()
