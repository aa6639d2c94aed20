"""PostgreSQL's binary COPY format, built from NumPy columns in a few array operations.

psycopg's ``copy.write_row`` formats one row at a time in Python (about 5 µs a row: a
million predictions spent seconds there). Here a slice of rows is laid out at once in a
2-D byte array, one row per line, padded to the longest row: a column whose width is the same
in every row (a fixed-width type without NULLs, a text of one length) is one slice assignment
for all rows; the rest of a row depends on its text values and NULLs, so the rows are grouped
by those (few: template keys x levels) and each group's columns are written together. The rows'
bytes are then read out without the padding (a boolean mask), in the rows' order.

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


# bytes of padded rows laid out at once (the rows of a chunk in slices of about this size)
_SLICE_BYTES = 1 << 25


@dataclass
class _Prepared:
    """A column ready to lay out: each row's byte width (-1: NULL) and its bytes."""

    widths: np.ndarray
    wire: np.ndarray | None = None  # Fixed: (rows, width) send-format bytes
    codes: np.ndarray | None = None  # Text: codes into `encoded`
    encoded: list[bytes] | None = None

    def constant_width(self, rows: slice) -> bool:
        w = self.widths[rows]
        return bool((w == w[0]).all())


def _prepare(col: Fixed | Text, n: int) -> _Prepared:
    if isinstance(col, Text):
        codes = np.asarray(col.codes, dtype=np.int64)
        encoded = [v.encode("utf-8") for v in col.values]
        lengths = np.fromiter((len(b) for b in encoded), dtype=np.int64, count=len(encoded))
        widths = np.where(codes >= 0, lengths[np.maximum(codes, 0)] if len(lengths) else 0, -1)
        return _Prepared(widths, codes=codes, encoded=encoded)
    wire = _wire_bytes(col)
    widths = np.full(n, wire.shape[1], dtype=np.int64)
    if col.null is not None:
        widths[np.asarray(col.null, dtype=bool)] = -1
    return _Prepared(widths, wire=wire)


def _length_word(width: int) -> bytes:
    return int(width).to_bytes(4, "big", signed=True)


def encode(columns: Sequence[Fixed | Text], n: int) -> bytes:
    """The binary COPY stream (header, `n` rows of `columns` in order, trailer)."""
    if n == 0:
        return HEADER + TRAILER
    prepared = [_prepare(col, n) for col in columns]
    row_len = 2 + sum(4 + np.maximum(p.widths, 0) for p in prepared)
    step = max(1, _SLICE_BYTES // int(row_len.max()))
    parts = [HEADER]
    for lo in range(0, n, step):
        parts.append(_lay_out(prepared, slice(lo, min(n, lo + step)), row_len[lo:lo + step]))
    parts.append(TRAILER)
    return b"".join(parts)


def _lay_out(prepared: list[_Prepared], rows: slice, row_len: np.ndarray) -> bytes:
    """The bytes of `rows` (a slice of the chunk), in order."""
    m = len(row_len)
    out = np.empty((m, int(row_len.max())), dtype=np.uint8)
    out[:, :2] = np.frombuffer(len(prepared).to_bytes(2, "big"), dtype=np.uint8)
    at = 2
    # the leading columns of one width in every row: the same place in every row
    first_varying = len(prepared)
    for i, p in enumerate(prepared):
        if not p.constant_width(rows):
            first_varying = i
            break
        width = int(p.widths[rows.start])
        out[:, at:at + 4] = np.frombuffer(_length_word(width), dtype=np.uint8)
        at += 4
        if width > 0:
            if p.wire is not None:
                out[:, at:at + width] = p.wire[rows]
            else:
                codes = p.codes[rows]
                for code in np.unique(codes):
                    out[codes == code, at:at + width] = np.frombuffer(p.encoded[code], dtype=np.uint8)
            at += width
    rest = prepared[first_varying:]
    if rest:
        _lay_out_groups(out, rest, rows, at)
    mask = np.arange(out.shape[1]) < row_len[:, None]
    return out[mask].tobytes()


def _lay_out_groups(out: np.ndarray, rest: list[_Prepared], rows: slice, at: int) -> None:
    """The columns `rest` from byte `at` on, per group of rows with the same texts and NULLs (the
    same layout): the constant runs (length words, texts) in one assignment each, values apart."""
    # one integer per row naming its texts and NULLs (mixed radix; rows as tuples if it would not fit)
    key, radix = np.zeros(len(range(*rows.indices(rows.stop))), dtype=np.int64), 1
    for p in rest:
        digit, size = (p.codes[rows] + 1, len(p.encoded) + 1) if p.codes is not None else (p.widths[rows] < 0, 2)
        radix *= size
        key = key * size + digit
    if radix < 2**62:
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    else:
        keys = np.column_stack([p.codes[rows] if p.codes is not None else p.widths[rows] < 0 for p in rest])
        _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    order = np.argsort(inverse, kind="stable")
    bounds = np.flatnonzero(np.diff(inverse[order])) + 1
    for group, r in zip(np.split(order, bounds), first):
        pos, run = at, bytearray()
        for p in rest:
            width = int(p.widths[rows.start + r])
            run += _length_word(width)
            if width > 0 and p.wire is None:
                run += p.encoded[int(p.codes[rows.start + r])]
            elif width > 0:  # a value per row: the constant run before it first
                out[group, pos:pos + len(run)] = np.frombuffer(bytes(run), dtype=np.uint8)
                pos += len(run)
                run = bytearray()
                out[group, pos:pos + width] = p.wire[rows.start + group]
                pos += width
        if run:
            out[group, pos:pos + len(run)] = np.frombuffer(bytes(run), dtype=np.uint8)
