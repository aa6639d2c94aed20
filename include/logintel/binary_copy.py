"""PostgreSQL's binary COPY format, built from NumPy columns in a few array operations.

psycopg's ``copy.write_row`` formats one row at a time in Python (about 5 µs a row: a
million predictions spent seconds there). Here a whole chunk is laid out at once: every
field's byte width is known per row (a fixed width, 4 bytes for a NULL, or its text's
length), so each row's offset is a cumulative sum and each column is scattered into one
buffer with fancy indexing. Text columns are given as codes into a few distinct values
(template keys, levels), whose encoded bytes are copied per distinct value.

The format (PostgreSQL docs, "COPY", Binary Format): a signature and two zero int32s, then
per row an int16 field count and per field an int32 byte length (-1: NULL) and the value
in network byte order, then an int16 -1.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

__all__ = ["Fixed", "Text", "encode"]

HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER = b"\xff\xff"
# PostgreSQL type -> the NumPy big-endian type of its binary send format
_WIRE = {"int8": ">i8", "int4": ">i4", "int2": ">i2", "float8": ">f8", "float4": ">f4", "bool": "u1"}


@dataclass(frozen=True)
class Fixed:
    """A fixed-width column: `values` (one per row) sent as PostgreSQL type `pgtype`;
    rows where `null` is True are sent as NULL."""

    values: np.ndarray
    pgtype: str
    null: np.ndarray | None = None


@dataclass(frozen=True)
class Text:
    """A text column as `codes` (one per row) into `values` (its distinct strings); a code
    below 0 is NULL."""

    codes: np.ndarray
    values: Sequence[str]


def _wire_bytes(col: Fixed) -> np.ndarray:
    """(rows, width) uint8: each value in its send format."""
    wire = np.dtype(_WIRE[col.pgtype])
    values = np.asarray(col.values)
    if col.pgtype == "bool":
        values = values.astype(bool)
    return np.ascontiguousarray(values.astype(wire)).view(np.uint8).reshape(len(values), wire.itemsize)


# bytes a scatter writes at once: its index array is 8 bytes per byte written, so a whole chunk of
# long template keys at once would cost gigabytes
_SCATTER_BYTES = 1 << 22


def _put(buf: np.ndarray, at: np.ndarray, data: np.ndarray) -> None:
    """buf[at[i] + j] = data[i, j] (or data[j] for every i when data is one row), in slices of rows
    so the index array stays small."""
    width = data.shape[-1]
    step = max(1, _SCATTER_BYTES // max(width, 1))
    offsets = np.arange(width)
    for lo in range(0, len(at), step):
        part = data if data.ndim == 1 else data[lo:lo + step]
        buf[at[lo:lo + step, None] + offsets] = part


def encode(columns: Sequence[Fixed | Text], n: int) -> bytes:
    """The binary COPY stream (header, `n` rows of `columns` in order, trailer)."""
    if n == 0:
        return HEADER + TRAILER
    codes_of = {}  # text column -> its codes (int64), and each distinct value's bytes
    widths = []  # per column: each row's bytes after the length word (-1: NULL)
    for i, col in enumerate(columns):
        if isinstance(col, Text):
            codes = np.asarray(col.codes, dtype=np.int64)
            encoded = [v.encode("utf-8") for v in col.values]
            codes_of[i] = (codes, encoded)
            lengths = np.fromiter((len(b) for b in encoded), dtype=np.int64, count=len(encoded))
            widths.append(np.where(codes >= 0, lengths[np.maximum(codes, 0)] if len(lengths) else 0, -1))
        else:
            size = np.dtype(_WIRE[col.pgtype]).itemsize
            w = np.full(n, size, dtype=np.int64)
            if col.null is not None:
                w[np.asarray(col.null, dtype=bool)] = -1
            widths.append(w)
    row_len = 2 + sum(4 + np.maximum(w, 0) for w in widths)
    starts = np.empty(n, dtype=np.int64)
    starts[0] = len(HEADER)
    np.cumsum(row_len[:-1], out=starts[1:])
    starts[1:] += len(HEADER)
    buf = np.empty(int(starts[-1] + row_len[-1]) + len(TRAILER), dtype=np.uint8)
    buf[:len(HEADER)] = np.frombuffer(HEADER, dtype=np.uint8)
    buf[len(buf) - len(TRAILER):] = np.frombuffer(TRAILER, dtype=np.uint8)
    _put(buf, starts, np.array([len(columns)], dtype=">i2").view(np.uint8))
    cursor = starts + 2
    for i, (col, w) in enumerate(zip(columns, widths)):
        _put(buf, cursor, w.astype(">i4").view(np.uint8).reshape(n, 4))
        cursor = cursor + 4
        if i in codes_of:
            _scatter_text(buf, cursor, *codes_of[i])
        else:
            rows = np.flatnonzero(w >= 0)
            _put(buf, cursor[rows], _wire_bytes(col)[rows])
        cursor = cursor + np.maximum(w, 0)
    return buf.tobytes()


def _scatter_text(buf: np.ndarray, cursor: np.ndarray, codes: np.ndarray, encoded: list[bytes]) -> None:
    """Copy each row's text (by its code) to its cursor: one broadcast assignment per distinct value."""
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    for group in np.split(order, bounds):
        code = int(codes[group[0]])
        if code >= 0 and encoded[code]:
            _put(buf, cursor[group], np.frombuffer(encoded[code], dtype=np.uint8))
