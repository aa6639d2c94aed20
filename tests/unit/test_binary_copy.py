"""binary_copy.encode read back by a decoder of PostgreSQL's binary COPY format written from the
documentation (signature, flags, header extension, per row a field count and length-prefixed
fields, -1 for NULL, the trailer). The server-side check is tests/integration/test_binary_copy_server.py."""
from __future__ import annotations

import struct

import numpy as np
import pytest

from logintel.binary_copy import HEADER, TRAILER, Fixed, Text, encode

FORMATS = {"int8": ">q", "int4": ">i", "int2": ">h", "float8": ">d", "float4": ">f", "bool": ">?"}


def decode(stream: bytes, types: list[str]) -> list[tuple]:
    assert stream[:11] == b"PGCOPY\n\xff\r\n\x00"
    flags, ext = struct.unpack(">ii", stream[11:19])
    assert (flags, ext) == (0, 0)
    pos, rows = 19, []
    while True:
        (count,) = struct.unpack(">h", stream[pos:pos + 2])
        pos += 2
        if count == -1:
            assert pos == len(stream), "bytes after the trailer"
            return rows
        assert count == len(types)
        row = []
        for t in types:
            (size,) = struct.unpack(">i", stream[pos:pos + 4])
            pos += 4
            if size == -1:
                row.append(None)
                continue
            raw = stream[pos:pos + size]
            pos += size
            if t == "text":
                row.append(raw.decode("utf-8"))
            elif t == "bool":
                assert raw in (b"\x00", b"\x01"), raw  # what PostgreSQL's boolsend writes
                row.append(raw == b"\x01")
            else:
                assert size == struct.calcsize(FORMATS[t])
                row.append(struct.unpack(FORMATS[t], raw)[0])
        rows.append(tuple(row))


def test_no_rows_is_the_header_and_the_trailer():
    assert encode([Fixed(np.arange(0), "int8")], 0) == HEADER + TRAILER
    assert decode(HEADER + TRAILER, ["int8"]) == []


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_field_of_every_row_reads_back(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    values = ["", "a", "naïve ☃", "x" * 300, "tab\tquote\"back\\slash"]
    ids = rng.integers(-2**63, 2**63 - 1, n, dtype=np.int64)
    codes = rng.integers(-1, len(values), n)
    small = rng.integers(-2**15, 2**15, n)
    mid = rng.integers(-2**31, 2**31, n)
    f4 = rng.normal(size=n) * 1e3
    f8 = rng.normal(size=n)
    flag = rng.random(n) > 0.5
    null = rng.random(n) > 0.7
    columns = [Fixed(ids, "int8"), Text(codes, values), Fixed(small, "int2"), Fixed(mid, "int4"),
               Fixed(f4, "float4", null=null), Fixed(f8, "float8"), Fixed(flag, "bool"),
               Text(np.zeros(n, dtype=np.int64), ["v1"])]
    rows = decode(encode(columns, n), ["int8", "text", "int2", "int4", "float4", "float8", "bool", "text"])
    assert rows == [(int(ids[i]), values[codes[i]] if codes[i] >= 0 else None, int(small[i]), int(mid[i]),
                     None if null[i] else float(np.float32(f4[i])), float(f8[i]), bool(flag[i]), "v1")
                    for i in range(n)]


def test_the_header_is_the_documented_signature():
    assert HEADER == b"PGCOPY\n\xff\r\n\x00" + bytes(8) and TRAILER == struct.pack(">h", -1)


def test_one_row_an_all_null_text_column_and_a_flag_given_as_numbers():
    # (the edge cases mutation testing found untested: a group of one row, a text column with no
    # values at all, a bool column fed with 0 / 2 instead of False / True)
    columns = [Text(np.array([-1]), []), Fixed(np.array([2]), "bool"), Text(np.array([0]), ["only"])]
    assert decode(encode(columns, 1), ["text", "bool", "text"]) == [(None, True, "only")]
    columns = [Text(np.array([-1, -1]), []), Fixed(np.array([0, 2]), "bool")]
    assert decode(encode(columns, 2), ["text", "bool"]) == [(None, False), (None, True)]


def test_the_stream_is_the_same_when_scattered_in_small_slices(monkeypatch):
    # the scatter works in slices of rows to bound its index arrays: slices of a few bytes must
    # give the same stream as one slice (a real chunk needs several only for long keys)
    import logintel.binary_copy as bc

    rng = np.random.default_rng(7)
    n = 50
    columns = [Fixed(rng.integers(0, 10**9, n), "int8"), Text(rng.integers(-1, 3, n), ["ab", "", "long" * 5]),
               Fixed(rng.random(n), "float4", null=rng.random(n) > 0.5), Fixed(rng.random(n) > 0.5, "bool")]
    whole = encode(columns, n)
    monkeypatch.setattr(bc, "_SCATTER_BYTES", 7)
    assert encode(columns, n) == whole
    monkeypatch.setattr(bc, "_SCATTER_BYTES", 150)  # a few rows a slice: some slices all NULL, some not
    assert encode(columns, n) == whole
    assert len(decode(whole, ["int8", "text", "float4", "bool"])) == n


def test_rows_of_one_layout_and_rows_of_many_read_back_in_order():
    # fixed-width columns before and after texts of several lengths and NULLs: each field must land
    # in its row's place
    rng = np.random.default_rng(11)
    n = 300
    values = ["INFO", "WARN", "DEBUG", "x" * 120]
    ids, score = np.arange(n, dtype=np.int64), rng.random(n)
    codes, null = rng.integers(-1, len(values), n), rng.random(n) > 0.6
    columns = [Fixed(ids, "int8"), Text(np.zeros(n, dtype=np.int64), ["v1"]), Fixed(score, "float8"),
               Text(codes, values), Fixed(score, "float4", null=null), Fixed(ids, "int4")]
    rows = decode(encode(columns, n), ["int8", "text", "float8", "text", "float4", "int4"])
    assert rows == [(i, "v1", float(score[i]), values[codes[i]] if codes[i] >= 0 else None,
                     None if null[i] else float(np.float32(score[i])), i) for i in range(n)]
