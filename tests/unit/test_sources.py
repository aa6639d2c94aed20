"""Unit tests for logintel.sources: every format, every hostile case, and the
accounting invariant (every non-blank physical line ends up in exactly one
Record, as its first line or as a continuation line)."""

from __future__ import annotations

import csv
import gzip
import json
import random
import zlib
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import logintel.sources.reader as reader
from logintel.levels import LEVELS
from logintel.sources import Record, SourceError, detect_format, iter_records
from logintel.sources.reader import BadLine, iter_lines, read_head
from logintel.sources.timestamps import TimestampError, parse_epoch, parse_timestamp

UTC = timezone.utc
REPO = Path(__file__).resolve().parents[2]
HOSTILE = REPO / "tests" / "data" / "hostile"
LOGHUB = REPO.parent / "shared" / "data" / "loghub"
MiB = 1 << 20


# -- helpers ----------------------------------------------------------------


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def parse(tmp_path: Path, name: str, data: bytes | str, **kwargs: object) -> list[Record]:
    return list(iter_records(write(tmp_path, name, data), **kwargs))  # type: ignore[arg-type]


def ok(records: list[Record]) -> list[Record]:
    return [r for r in records if r.error is None]


def physical_lines(data: bytes) -> list[bytes]:
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return data.splitlines()  # bytes.splitlines: exactly \n, \r\n and \r


def assert_accounted(data: bytes, records: list[Record], *, csv_header: bool = False) -> None:
    """The invariant: every non-blank line belongs to exactly one record.

    A record covers lines ``line .. line + raw.count(b"\\n")`` and its raw must
    be exactly those lines joined by "\\n". Over-long records have a truncated
    raw, so they cover every line up to the next record instead.
    """
    lines = physical_lines(data)
    blank = {i for i, line in enumerate(lines, 1) if not line.strip()}
    covered: dict[int, int] = {}
    ordered = sorted(records, key=lambda r: r.line)
    assert [r.line for r in records] == [r.line for r in ordered], "records out of order"
    for idx, rec in enumerate(ordered):
        assert isinstance(rec.raw, bytes)
        assert rec.line >= 1
        if rec.error and rec.error.startswith("record too long"):
            end = ordered[idx + 1].line if idx + 1 < len(ordered) else len(lines) + 1
            span = range(rec.line, end)
            assert b"\n".join(lines[rec.line - 1 : end - 1]).startswith(rec.raw)
        else:
            span = range(rec.line, rec.line + rec.raw.count(b"\n") + 1)
            if not (rec.error or "").startswith(("truncated gzip", "corrupt gzip", "read error")):
                assert rec.raw == b"\n".join(lines[span.start - 1 : span.stop - 1]), rec
        if span.start - 1 < len(lines):
            assert rec.line not in blank, f"record starts on blank line {rec.line}"
        for i in span:
            assert i not in covered, f"line {i} in two records"
            covered[i] = rec.line
    missing = [i for i in range(1, len(lines) + 1) if i not in blank and i not in covered]
    if csv_header and missing:
        first_nonblank = min(set(range(1, len(lines) + 1)) - blank)
        assert missing[0] == first_nonblank, "the only line allowed to be no record is the header"
        missing = missing[1:]
    assert not missing, f"lines in no record: {missing}"


# -- levels in records / sanity of the Record type --------------------------


def test_record_fields_and_defaults() -> None:
    rec = Record(1, b"x", None, None, "m", None, None, {})
    assert rec.error is None
    assert not hasattr(rec, "__dict__")  # slots=True


# -- timestamps ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-02T03:04:05Z", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2024-01-02T03:04:05.123Z", datetime(2024, 1, 2, 3, 4, 5, 123000, tzinfo=UTC)),
        ("2024-01-02T03:04:05.123456789Z", datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)),
        ("2024-01-02T03:04:05", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),  # naive = UTC
        ("2024-01-02 03:04:05,123", datetime(2024, 1, 2, 3, 4, 5, 123000, tzinfo=UTC)),
        ("2024-01-02T05:04:05+02:00", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2024-01-01T22:04:05-0500", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2024-01-02", datetime(2024, 1, 2, tzinfo=UTC)),
        (" 2024-01-02 03:04:05 ", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2024-01-02 03:04:05 UTC", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("1704164645", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("1704164645123", datetime(2024, 1, 2, 3, 4, 5, 123000, tzinfo=UTC)),
        ("1704164645.5", datetime(2024, 1, 2, 3, 4, 5, 500000, tzinfo=UTC)),
        ("Tue, 02 Jan 2024 04:04:05 +0100", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("02 Jan 2024 03:04:05 GMT", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("Sun Dec 04 04:47:44 2005", datetime(2005, 12, 4, 4, 47, 44, tzinfo=UTC)),
        ("Wed Oct 11 14:32:52.123456 2000", datetime(2000, 10, 11, 14, 32, 52, 123456, tzinfo=UTC)),
        ("081109 203615", datetime(2008, 11, 9, 20, 36, 15, tzinfo=UTC)),  # HDFS
        ("17/06/09 20:10:40", datetime(2017, 6, 9, 20, 10, 40, tzinfo=UTC)),  # Spark
        ("2017/06/09 20:10:40.5", datetime(2017, 6, 9, 20, 10, 40, 500000, tzinfo=UTC)),
        ("10/Oct/2000:13:55:36 -0700", datetime(2000, 10, 10, 20, 55, 36, tzinfo=UTC)),
    ],
)
def test_parse_timestamp_formats(text: str, expected: datetime) -> None:
    got = parse_timestamp(text)
    assert got == expected
    assert got.tzinfo is UTC


def test_syslog_timestamp_without_year_uses_current_utc_year() -> None:
    got = parse_timestamp("Feb  5 17:32:18")
    assert (got.month, got.day, got.hour) == (2, 5, 17)
    assert got.year == datetime.now(UTC).year


@pytest.mark.parametrize(
    "text",
    ["31/13/2020", "2024-13-01T00:00:00", "2024-02-30 00:00:00", "yesterday", "", "   ",
     "2024-01-02T25:00:00", "Sun Dec 44 04:47:44 2005", "Foo Dec 04 04:47:44", "12/31/2020",
     "x" * 100_000, "NaN", "inf"],
)
def test_unparseable_timestamps(text: str) -> None:
    with pytest.raises(TimestampError) as exc:
        parse_timestamp(text)
    assert len(str(exc.value)) < 200  # reasons stay short even for hostile input


@pytest.mark.parametrize(
    "text", ["1969-12-31T23:59:59Z", "1900-01-01", "2201-01-01T00:00:00Z", "9999-12-31T23:59:59",
             "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-14:00", "-1"],
)
def test_years_outside_1970_2200_are_rejected(text: str) -> None:
    with pytest.raises(TimestampError):
        parse_timestamp(text)


def test_far_future_inside_range_is_accepted() -> None:
    # Far future/past inside 1970-2200 is the data-quality check's business.
    assert parse_timestamp("2199-12-31T23:59:59Z").year == 2199
    assert parse_timestamp("1970-01-01T00:00:00Z") == datetime(1970, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1704164645, datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        (1704164645.25, datetime(2024, 1, 2, 3, 4, 5, 250000, tzinfo=UTC)),
        (1704164645123, datetime(2024, 1, 2, 3, 4, 5, 123000, tzinfo=UTC)),
        (1704164645123456, datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)),
        (1704164645123456789, datetime(2024, 1, 2, 3, 4, 5, 123457, tzinfo=UTC)),
    ],
)
def test_parse_epoch(value: float, expected: datetime) -> None:
    got = parse_epoch(value)
    assert abs(got - expected) < timedelta(microseconds=2)


@pytest.mark.parametrize("value", [True, float("nan"), float("inf"), 1e300, -5, 10**40])
def test_bad_epochs(value: float) -> None:
    with pytest.raises(TimestampError):
        parse_epoch(value)


# -- reader: line splitting, BOM, gzip, limits -------------------------------


def test_line_splitting_matches_splitlines_under_any_chunking(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rnd = random.Random(3)
    pieces = [b"a", b"bc", b"\n", b"\r", b"\r\n", b"\xef\xbb\xbf", b" ", b"\x00", b"\xff"]
    for _ in range(400):
        data = b"".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 40)))
        if rnd.random() < 0.3:
            data = b"\xef\xbb\xbf" + data
        path = write(tmp_path, "f.log", data)
        monkeypatch.setattr(reader, "_CHUNK", rnd.randint(1, 12))
        limit = rnd.choice([3, 5, 1000])
        got = list(iter_lines(path, limit))
        expected = physical_lines(data)
        assert [i for i, _ in got] == list(range(1, len(expected) + 1))
        for (_, line), exp in zip(got, expected):
            if len(exp) > limit:
                assert isinstance(line, BadLine)
                assert bytes(line) == exp  # kept whole for quarantine (under its hard limit)
                assert f"({len(exp)} bytes > limit {limit}; raw kept whole)" in line.reason
            else:
                assert type(line) is bytes and line == exp


def test_crlf_split_across_reads_counts_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reader, "_CHUNK", 4)
    path = write(tmp_path, "f.log", b"abc\r\ndef\r\rghi")
    assert list(iter_lines(path, 100)) == [(1, b"abc"), (2, b"def"), (3, b""), (4, b"ghi")]


def test_missing_file_raises_source_error_immediately(tmp_path: Path) -> None:
    with pytest.raises(SourceError):
        iter_records(tmp_path / "nope.jsonl")  # raised by the call, not on first next()
    with pytest.raises(SourceError):
        iter_records(tmp_path)  # a directory
    with pytest.raises(SourceError):
        iter_records(tmp_path / "nope.log", fmt="log4j")


def test_unknown_format_name_is_a_programming_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        iter_records(write(tmp_path, "a.log", b"x\n"), fmt="yaml")


def test_empty_file_yields_nothing(tmp_path: Path) -> None:
    for fmt in ("auto", "jsonl", "csv", "python", "log4j", "syslog", "apache", "unknown"):
        assert parse(tmp_path, "empty.log", b"", fmt=fmt) == []
    assert parse(tmp_path, "bom_only.csv", b"\xef\xbb\xbf") == []
    assert parse(tmp_path, "blank.jsonl", b"\n\r\n  \n\t\r") == []
    assert parse(tmp_path, "empty.jsonl.gz", gzip.compress(b"")) == []


JSON_LINE = b'{"ts": "2024-01-02T03:04:05Z", "level": "INFO", "message": "hello %d"}'


def _json_lines(n: int) -> bytes:
    return b"".join(JSON_LINE.replace(b"%d", str(i).encode()) + b"\n" for i in range(n))


def test_gzip_by_extension_and_by_magic(tmp_path: Path) -> None:
    data = gzip.compress(_json_lines(3))
    for name in ("a.jsonl.gz", "a.jsonl", "a.log"):
        recs = parse(tmp_path, name, data)
        assert [r.message for r in recs] == ["hello 0", "hello 1", "hello 2"], name
        assert all(r.error is None for r in recs)


def test_multi_member_gzip(tmp_path: Path) -> None:
    data = gzip.compress(_json_lines(2)) + gzip.compress(_json_lines(1))
    assert len(ok(parse(tmp_path, "a.jsonl.gz", data))) == 3


def test_truncated_gzip_yields_records_then_one_error(tmp_path: Path) -> None:
    plain = _json_lines(5000)
    full = gzip.compress(plain)
    recs = parse(tmp_path, "t.jsonl.gz", full[: len(full) * 2 // 3])
    good, bad = ok(recs), [r for r in recs if r.error]
    assert len(bad) == 1 and recs[-1] is bad[0]
    assert bad[0].error.startswith("truncated gzip: ")
    assert len(good) > 1000
    assert [r.line for r in good] == list(range(1, len(good) + 1))
    assert bad[0].line == len(good) + 1
    # raw of the error record is the partial last line (or b"" on a clean cut)
    assert plain.splitlines()[len(good)].startswith(bad[0].raw)


def test_truncated_gzip_on_a_line_boundary_has_empty_raw(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Cut the compressed stream right after a full flush that ends on "\n".
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    data = comp.compress(_json_lines(3)) + comp.flush(zlib.Z_FULL_FLUSH)
    recs = parse(tmp_path, "t.jsonl.gz", data)
    assert len(ok(recs)) == 3
    assert recs[-1].error.startswith("truncated gzip") and recs[-1].raw == b""
    assert recs[-1].line == 4


def test_truncated_gzip_in_text_and_csv_formats(tmp_path: Path) -> None:
    log = b"".join(
        f"2024-01-02 03:04:05,{i % 1000:03d} INFO [main] com.x.A: line {i}\n".encode()
        for i in range(3000)
    )
    full = gzip.compress(log)
    recs = parse(tmp_path, "a.log.gz", full[: len(full) // 2])
    assert recs[-1].error.startswith("truncated gzip") and len(ok(recs)) > 100
    assert sum(1 for r in recs if r.error) == 1
    csv_data = b"timestamp,level,message\n" + b"".join(
        f"2024-01-02T03:04:05Z,INFO,row {i}\n".encode() for i in range(3000)
    )
    full = gzip.compress(csv_data)
    recs = parse(tmp_path, "a.csv.gz", full[: len(full) // 2])
    assert recs[-1].error.startswith("truncated gzip") and len(ok(recs)) > 100
    assert sum(1 for r in recs if r.error) == 1


def test_corrupt_gzip_is_one_error_record(tmp_path: Path) -> None:
    data = bytearray(gzip.compress(_json_lines(200)))
    data[-8:-4] = b"\0\0\0\0"  # break the CRC
    recs = parse(tmp_path, "c.jsonl.gz", bytes(data))
    assert sum(1 for r in recs if r.error) == 1
    assert recs[-1].error.startswith("corrupt gzip")
    # a .gz name on something that is not gzip at all
    recs = parse(tmp_path, "fake.jsonl.gz", JSON_LINE + b"\n")
    assert len(recs) == 1 and recs[0].error.startswith("corrupt gzip") and recs[0].line == 1


def test_head_is_decompressed_for_detection(tmp_path: Path) -> None:
    path = write(tmp_path, "x", gzip.compress(b"\xef\xbb\xbf" + _json_lines(2)))
    assert read_head(path).startswith(b'{"ts"')
    assert detect_format(path, path.read_bytes()) == "jsonl"  # compressed head works too


@pytest.mark.parametrize("fmt", ["jsonl", "log4j", "csv"])
def test_ten_megabyte_line_is_quarantined_and_parsing_goes_on(tmp_path: Path, fmt: str) -> None:
    big = 10 * MiB
    if fmt == "jsonl":
        head = b""
        line = b'{"ts": "2024-01-02T03:04:05Z", "level": "INFO", "message": "' + b"x" * big + b'"}'
        good = JSON_LINE
    elif fmt == "log4j":
        head = b""
        line = b"2024-01-02 03:04:05,123 INFO [main] com.x.A: " + b"y" * big
        good = b"2024-01-02 03:04:06,123 WARN [main] com.x.A: after"
    else:
        head = b"timestamp,level,message\n"
        line = b'2024-01-02T03:04:05Z,INFO,"' + b"z" * big + b'"'
        good = b"2024-01-02T03:04:06Z,WARN,after"
    data = head + good + b"\n" + line + b"\r\n" + good + b"\n"
    recs = parse(tmp_path, f"big.{fmt}", data, fmt=fmt)
    assert len(recs) == 3
    assert recs[0].error is None and recs[2].error is None
    err = recs[1]
    assert err.error == f"record too long ({len(line)} bytes > limit {MiB}; raw kept whole)"
    assert err.raw == line  # every byte, so `logintel quarantine replay` can load it later
    assert recs[2].line == recs[1].line + 1
    assert_accounted(data, recs, csv_header=fmt == "csv")


def test_record_limit_from_env_and_argument(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = JSON_LINE.replace(b"%d", b"x" * 200) + b"\n" + JSON_LINE + b"\n"
    monkeypatch.setenv("LOGINTEL_MAX_RECORD_BYTES", "100")
    recs = parse(tmp_path, "a.jsonl", data)
    assert recs[0].error.startswith("record too long") and recs[0].raw == data.split(b"\n")[0]
    assert recs[1].error is None
    # a larger explicit limit lets the same line through
    assert ok(parse(tmp_path, "a.jsonl", data, max_bytes=10_000)) == parse(
        tmp_path, "a.jsonl", data, max_bytes=10_000
    )
    # a bad value is an error naming the variable, not a silent fallback to the default
    for bad in ("not a number", "0", "-5"):
        monkeypatch.setenv("LOGINTEL_MAX_RECORD_BYTES", bad)
        with pytest.raises(ValueError, match="LOGINTEL_MAX_RECORD_BYTES must be"):
            parse(tmp_path, "a.jsonl", data)


def test_quarantine_keeps_bytes_up_to_its_hard_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Beyond LOGINTEL_QUARANTINE_MAX_BYTES a record's raw is cut there, and the reason says so."""
    monkeypatch.setenv("LOGINTEL_QUARANTINE_MAX_BYTES", "150")
    line = JSON_LINE.replace(b"%d", b"x" * 400)
    data = line + b"\n" + JSON_LINE + b"\n"
    for chunk in (7, 64, 1 << 18):  # however the reads fall
        monkeypatch.setattr(reader, "_CHUNK", chunk)
        recs = parse(tmp_path, "a.jsonl", data, max_bytes=100)
        assert recs[0].raw == line[:150]
        assert recs[0].error == f"record too long ({len(line)} bytes > limit 100; raw truncated to 150 bytes)"
        assert recs[1].error is None


def test_multi_line_text_record_over_the_limit(tmp_path: Path) -> None:
    data = (
        b"2024-01-02 03:04:05,123 ERROR [main] com.x.A: boom\n"
        + b"".join(b"\tat frame.number%d(X.java:1)\n" % i for i in range(100))
        + b"2024-01-02 03:04:06,123 INFO [main] com.x.A: next\n"
    )
    recs = parse(tmp_path, "a.log", data, max_bytes=500)
    assert len(recs) == 2
    assert recs[0].error.startswith("record too long (") and recs[0].raw == b"\n".join(data.split(b"\n")[:101])
    assert recs[1].line == 102 and recs[1].error is None
    assert_accounted(data, recs)


# -- JSON lines -------------------------------------------------------------


def test_jsonl_fields_aliases_and_attrs(tmp_path: Path) -> None:
    lines = [
        {"ts": "2024-01-02T03:04:05Z", "level": "info", "message": "a", "service": "api",
         "is_anomaly": True, "user": {"id": 1}, "tags": ["x"]},
        {"timestamp": "2024-01-02T04:04:05+01:00", "severity": "WARNING", "msg": "b", "app": "web",
         "anomaly": "false"},
        {"@timestamp": 1704164645, "levelname": "ERROR", "message": "c", "logger_name": "x.y",
         "is_anomaly": 1},
        {"time": 1704164645123, "lvl": "D", "event": "d", "is_anomaly": None},
        {"ts": "2024-01-02T03:04:05Z", "level": "FATAL", "message": "e", "service": "",
         "logger": "kept-in-attrs"},
    ]
    data = "".join(json.dumps(line) + "\n" for line in lines)
    recs = parse(tmp_path, "a.jsonl", data, default_service="dflt")
    assert [r.error for r in recs] == [None] * 5
    t = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert [r.ts for r in recs][:3] == [t, t, t]
    assert recs[3].ts == t + timedelta(milliseconds=123)
    assert [r.level for r in recs] == ["INFO", "WARN", "ERROR", "DEBUG", "FATAL"]
    assert [r.message for r in recs] == ["a", "b", "c", "d", "e"]
    assert [r.service for r in recs] == ["api", "web", "x.y", "dflt", "dflt"]
    assert [r.is_anomaly for r in recs] == [True, False, True, None, None]
    assert recs[0].attrs == {"user": {"id": 1}, "tags": ["x"]}
    assert recs[4].attrs == {"logger": "kept-in-attrs"}  # only the used alias is consumed
    assert [r.line for r in recs] == [1, 2, 3, 4, 5]
    for r in recs:
        json.dumps(r.attrs)  # JSON-serialisable


def test_jsonl_first_alias_wins_and_others_stay_in_attrs(tmp_path: Path) -> None:
    line = {"ts": "2024-01-02T03:04:05Z", "time": "other", "level": "INFO", "severity": "x",
            "message": "m", "msg": "other"}
    (rec,) = parse(tmp_path, "a.jsonl", json.dumps(line))
    assert rec.error is None and rec.message == "m"
    assert rec.attrs == {"time": "other", "severity": "x", "msg": "other"}


@pytest.mark.parametrize(
    ("obj", "reason"),
    [
        ({"ts": "31/13/2020", "level": "INFO", "message": "m"},
         "unparseable timestamp '31/13/2020'"),
        ({"ts": "2024-01-02T03:04:05Z", "level": "LOUD", "message": "m"}, "unknown level 'LOUD'"),
        ({"ts": "2024-01-02T03:04:05Z", "level": "INFO", "message": ""}, "empty message"),
        ({"ts": "2024-01-02T03:04:05Z", "level": "INFO", "message": " \t "}, "empty message"),
        ({"ts": "2024-01-02T03:04:05Z", "level": "INFO"}, "empty message"),
        ({"ts": "2024-01-02T03:04:05Z", "level": "INFO", "message": None}, "empty message"),
        ({"level": "INFO", "message": "m"}, "missing timestamp"),
        ({"ts": "2024-01-02T03:04:05Z", "message": "m"}, "missing level"),
        ({"ts": "1900-01-01T00:00:00Z", "level": "INFO", "message": "m"}, "year 1900 out of range"),
        ({"ts": "2300-01-01T00:00:00Z", "level": "INFO", "message": "m"}, "year 2300 out of range"),
        ({"ts": True, "level": "INFO", "message": "m"}, "unparseable timestamp"),
        ({"ts": [1], "level": "INFO", "message": "m"}, "unparseable timestamp"),
        ({"ts": "2024-01-02T03:04:05Z", "level": 30, "message": "m"}, "unknown level '30'"),
        ({"ts": "2024-01-02T03:04:05Z", "level": "INFO", "message": {"a": 1}}, "message is not"),
        ({"ts": "2024-01-02T03:04:05Z", "level": "INFO", "message": "m", "is_anomaly": "maybe"},
         "invalid is_anomaly 'maybe'"),
        ({"ts": "2024-01-02T03:04:05Z", "level": "INFO", "message": "m", "service": 5},
         "service is not a string"),
    ],
)
def test_jsonl_bad_values_are_error_records(tmp_path: Path, obj: dict, reason: str) -> None:
    (rec,) = parse(tmp_path, "a.jsonl", json.dumps(obj))
    assert rec.error is not None and reason in rec.error
    assert rec.line == 1


def test_jsonl_several_problems_are_all_named(tmp_path: Path) -> None:
    (rec,) = parse(tmp_path, "a.jsonl", json.dumps({"ts": "bad", "level": "LOUD", "message": ""}))
    assert rec.error == "unparseable timestamp 'bad'; unknown level 'LOUD'; empty message"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b'{"ts": "2024-01-02T03:04:05Z", "level": "INFO", "message": "trunc',
         "invalid JSON: Unterminated string starting at col"),
        (b'{"a": 1 "b": 2}', "invalid JSON: Expecting ',' delimiter at col 9"),
        (b"[1, 2]", "JSON value is not an object (list)"),
        (b"42", "JSON value is not an object (int)"),
        (b'"str"', "JSON value is not an object (str)"),
        (b"null", "JSON value is not an object (NoneType)"),
        (b'{"x": NaN, "message": "m"}', "invalid JSON: non-standard JSON constant NaN"),
        (b'{"x": -Infinity}', "invalid JSON: non-standard JSON constant -Infinity"),
        (b'{"x": 1e400}', "invalid JSON: number out of range 1e400"),
        (b"[" * 50_000, "invalid JSON"),
        (b'{"a":' * 100 + b"1" + b"}" * 100, "JSON nested too deep"),
        (b'{"n": ' + b"9" * 5000 + b"}", "invalid JSON: Exceeds the limit"),
        (b'{"message": "a\\u0000b"}', "NUL byte in record"),
        (b'{"k\\u0000": 1}', "NUL byte in record"),
        (b'{"message": "\\ud800"}', "invalid unicode escape (lone surrogate)"),
        (b'{"ts": "2024-01-02T03:04:05Z", "level": "INFO", "message": "a\x00b"}',
         "NUL byte in record"),
        (b'{"message": "caf\xc3"}', "invalid UTF-8 at byte 16"),
        (b"\xff\xfe{}", "invalid UTF-8 at byte 0"),
        (b"}{", "invalid JSON: Expecting value at col 1"),
        (b"not json at all", "invalid JSON"),
    ],
)
def test_jsonl_hostile_lines(tmp_path: Path, line: bytes, reason: str) -> None:
    data = JSON_LINE + b"\n" + line + b"\n" + JSON_LINE + b"\n"
    recs = parse(tmp_path, "h.jsonl", data)
    assert len(recs) == 3
    assert recs[0].error is None and recs[2].error is None
    assert recs[1].error is not None and recs[1].error.startswith(reason), recs[1].error
    assert recs[1].raw == line  # raw bytes kept for quarantine
    assert (recs[1].ts, recs[1].level, recs[1].message) == (None, None, None)
    assert len(recs[1].error) < 200
    assert_accounted(data, recs)


def test_jsonl_blank_lines_skipped_but_counted_for_numbering(tmp_path: Path) -> None:
    data = b"\n  \n" + JSON_LINE + b"\r\n\t\r\n\n" + JSON_LINE
    recs = parse(tmp_path, "a.jsonl", data)
    assert [r.line for r in recs] == [3, 6]
    assert all(r.error is None for r in recs)


def test_bom_is_stripped(tmp_path: Path) -> None:
    recs = parse(tmp_path, "a.jsonl", b"\xef\xbb\xbf" + JSON_LINE + b"\n")
    assert len(recs) == 1 and recs[0].error is None and recs[0].raw == JSON_LINE


def test_messages_are_kept_verbatim(tmp_path: Path) -> None:
    nasty = [
        "'; DROP TABLE records; --",
        "<script>alert('x')</script>",
        "<img src=x onerror=alert(1)> &amp; &lt;",
        "\x1b[31mred\x1b[0m \x1b[1;32mgreen\x1b[0m",
        "  leading and trailing spaces  ",
        "tab\tbackslash\\ rtl\u202e emoji\U0001f600 ${jndi:ldap://x/a} %s %n",
    ]
    data = "".join(
        json.dumps({"ts": "2024-01-02T03:04:05Z", "level": "ERROR", "message": m}) + "\n"
        for m in nasty
    )
    assert [r.message for r in parse(tmp_path, "a.jsonl", data)] == nasty
    csv_data = "timestamp,level,message\n" + "".join(
        f'2024-01-02T03:04:05Z,ERROR,"{m.replace(chr(34), chr(34) * 2)}"\n' for m in nasty
    )
    assert [r.message for r in parse(tmp_path, "a.csv", csv_data)] == nasty
    log = "".join(f"2024-01-02 03:04:05,000 ERROR [main] com.x.A: {m}\n" for m in nasty)
    assert [r.message for r in parse(tmp_path, "a.log", log)] == nasty


# -- CSV --------------------------------------------------------------------


def test_csv_columns_in_any_order_with_aliases(tmp_path: Path) -> None:
    data = (
        "extra_col,Message,is_anomaly,LEVEL,service,ts\n"
        "e1,hello,true,warning,api,2024-01-02T03:04:05Z\n"
        "e2,world,,info,,1704164645\n"
    )
    recs = parse(tmp_path, "a.csv", data, default_service="dflt")
    assert [r.error for r in recs] == [None, None]
    assert [r.message for r in recs] == ["hello", "world"]
    assert [r.level for r in recs] == ["WARN", "INFO"]
    assert [r.service for r in recs] == ["api", "dflt"]
    assert [r.is_anomaly for r in recs] == [True, None]
    assert [r.attrs for r in recs] == [{"extra_col": "e1"}, {"extra_col": "e2"}]
    assert recs[0].ts == recs[1].ts == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert [r.line for r in recs] == [2, 3]


@pytest.mark.parametrize(
    ("header", "row", "expected"),
    [
        ("Date,Time,Level,Content", "081109,203615,INFO,m", datetime(2008, 11, 9, 20, 36, 15)),
        ("Date,Time,Level,Content", '2015-10-18,"18:01:47,978",INFO,m',
         datetime(2015, 10, 18, 18, 1, 47, 978000)),
        ("Date,Time,Level,Content", "2017-05-16,00:00:00.008,INFO,m",
         datetime(2017, 5, 16, 0, 0, 0, 8000)),
        ("Date,Time,Level,Content", "17/06/09,20:10:40,INFO,m", datetime(2017, 6, 9, 20, 10, 40)),
        ("Time,Level,Content", "Sun Dec 04 04:47:44 2005,notice,m",
         datetime(2005, 12, 4, 4, 47, 44)),
        ("datetime,severity,msg", "2024-01-02 03:04:05,E,m", datetime(2024, 1, 2, 3, 4, 5)),
        ("time,lvl,text", "2024-01-02T03:04:05.5,W,m", datetime(2024, 1, 2, 3, 4, 5, 500000)),
    ],
)
def test_csv_timestamp_columns(tmp_path: Path, header: str, row: str, expected: datetime) -> None:
    (rec,) = parse(tmp_path, "a.csv", f"{header}\n{row}\n")
    assert rec.error is None, rec.error
    assert rec.ts == expected.replace(tzinfo=UTC)


def test_csv_loghub_style_columns(tmp_path: Path) -> None:
    data = (
        "LineId,Date,Time,Pid,Level,Component,Content,EventId,EventTemplate\n"
        "1,081109,203615,148,INFO,dfs.DataNode$PacketResponder,PacketResponder 1 terminating,"
        "E10,PacketResponder <*> terminating\n"
    )
    (rec,) = parse(tmp_path, "HDFS_2k.log_structured.csv", data, default_service="hdfs")
    assert rec.error is None
    assert rec.service == "hdfs"  # Component is a class, not a service
    assert rec.message == "PacketResponder 1 terminating"
    assert rec.attrs == {
        "LineId": "1", "Pid": "148", "Component": "dfs.DataNode$PacketResponder",
        "EventId": "E10", "EventTemplate": "PacketResponder <*> terminating",
    }


def test_csv_quoted_field_with_newlines_is_one_record(tmp_path: Path) -> None:
    data = (
        b"timestamp,level,message,service\r\n"
        b'2024-01-02T03:04:05Z,ERROR,"first\r\nsecond, with comma\n""quoted"" third\r'
        b'fourth",api\r\n'
        b"2024-01-02T03:04:06Z,INFO,plain,api\r\n"
    )
    recs = parse(tmp_path, "a.csv", data)
    assert [r.error for r in recs] == [None, None]
    assert recs[0].message == 'first\nsecond, with comma\n"quoted" third\nfourth'
    assert recs[0].line == 2 and recs[1].line == 6
    assert recs[0].raw == (
        b'2024-01-02T03:04:05Z,ERROR,"first\nsecond, with comma\n""quoted"" third\nfourth",api'
    )
    assert_accounted(data, recs, csv_header=True)


def test_csv_unterminated_quote_blames_one_line_only(tmp_path: Path) -> None:
    data = (
        "timestamp,level,message\n"
        '2024-01-02T03:04:05Z,INFO,"never closed\n'
        "2024-01-02T03:04:06Z,INFO,ok one\n"
        "2024-01-02T03:04:07Z,WARN,ok two\n"
    )
    recs = parse(tmp_path, "a.csv", data)
    assert [r.line for r in recs] == [2, 3, 4]
    assert recs[0].error == "unterminated quoted field"
    assert [r.message for r in recs[1:]] == ["ok one", "ok two"]
    assert_accounted(data.encode(), recs, csv_header=True)


def test_csv_quoted_field_longer_than_limit(tmp_path: Path) -> None:
    rows = "".join(f"2024-01-02T03:04:05Z,INFO,row {i}\n" for i in range(50))
    data = f'timestamp,level,message\n2024-01-02T03:04:05Z,INFO,"opens\n{rows}'
    recs = parse(tmp_path, "a.csv", data, max_bytes=300)
    assert recs[0].error == "unterminated quoted field (record would exceed 300 bytes)"
    assert len(ok(recs)) == 50
    assert_accounted(data.encode(), recs, csv_header=True)


def test_csv_literal_quote_inside_unquoted_field(tmp_path: Path) -> None:
    data = 'timestamp,level,message\n2024-01-02T03:04:05Z,INFO,he said "hi" twice\n'
    (rec,) = parse(tmp_path, "a.csv", data)
    assert rec.error is None and rec.message == 'he said "hi" twice'


def test_csv_ragged_rows(tmp_path: Path) -> None:
    data = (
        "timestamp,level,message,service\n"
        "2024-01-02T03:04:05Z,INFO\n"
        "2024-01-02T03:04:06Z,INFO,msg\n"
        "2024-01-02T03:04:07Z,INFO,msg,api,surplus1,surplus2\n"
        "2024-01-02T03:04:08Z\n"
    )
    recs = parse(tmp_path, "a.csv", data)
    assert recs[0].error == "missing column 'message' (row has 2 of 4 fields)"
    assert recs[1].error == "too few fields (3 of 4)"
    assert recs[2].error is None
    assert recs[2].attrs == {"extra_1": "surplus1", "extra_2": "surplus2"}
    assert recs[3].error.startswith("missing column 'level'")
    assert_accounted(data.encode(), recs, csv_header=True)


def test_csv_too_many_fields(tmp_path: Path) -> None:
    data = "timestamp,level,message\n2024-01-02T03:04:05Z,INFO,m" + ",x" * 5000 + "\n"
    (rec,) = parse(tmp_path, "a.csv", data)
    assert rec.error == "too many fields (5003 for a 3-column header)"
    assert rec.attrs == {}


def test_csv_header_missing_required_column(tmp_path: Path) -> None:
    data = "timestamp,message,host\n2024-01-02T03:04:05Z,hello,h1\n2024-01-02T03:04:06Z,x,h2\n"
    recs = parse(tmp_path, "a.csv", data)
    assert len(recs) == 2
    assert all(r.error == "missing column 'level' in CSV header" for r in recs)
    assert recs[0].attrs == {"host": "h1"}
    recs = parse(tmp_path, "b.csv", "a,b\n1,2\n3,4\n")
    assert len(recs) == 2
    assert recs[0].error == "missing columns 'timestamp', 'level', 'message' in CSV header"


def test_csv_header_only_and_blank_rows(tmp_path: Path) -> None:
    assert parse(tmp_path, "a.csv", "timestamp,level,message\n") == []
    data = "\n\ntimestamp,level,message\n\n  \n2024-01-02T03:04:05Z,INFO,m\n\n"
    recs = parse(tmp_path, "a.csv", data)
    assert [(r.line, r.error) for r in recs] == [(6, None)]


def test_csv_field_level_errors(tmp_path: Path) -> None:
    data = (
        "timestamp,level,message,is_anomaly\n"
        "31/13/2020,INFO,m,\n"
        "2024-01-02T03:04:05Z,LOUD,m,\n"
        "2024-01-02T03:04:05Z,INFO,,\n"
        "2024-01-02T03:04:05Z,INFO,m,perhaps\n"
        ",INFO,m,\n"
        "2024-01-02T03:04:05Z,,m,\n"
        "2024-01-02T03:04:05Z,INFO,m,1\n"
    )
    recs = parse(tmp_path, "a.csv", data)
    assert [r.error for r in recs] == [
        "unparseable timestamp '31/13/2020'",
        "unknown level 'LOUD'",
        "empty message",
        "invalid is_anomaly 'perhaps'",
        "missing timestamp",
        "missing level",
        None,
    ]
    assert recs[-1].is_anomaly is True


def test_csv_bad_bytes(tmp_path: Path) -> None:
    data = (
        b"timestamp,level,message\n"
        b"2024-01-02T03:04:05Z,INFO,caf\xc3\n"
        b"2024-01-02T03:04:05Z,INFO,a\x00b\n"
        b'2024-01-02T03:04:05Z,INFO,"multi\nline \xff here"\n'
        b"2024-01-02T03:04:05Z,INFO,fine\n"
    )
    recs = parse(tmp_path, "a.csv", data)
    lines = data.splitlines()
    first = lines[1].index(b"\xc3")
    second = len(lines[3]) + 1 + lines[4].index(b"\xff")  # offset within the 2-line record
    assert [r.error for r in recs] == [
        f"invalid UTF-8 at byte {first}", "NUL byte in record",
        f"invalid UTF-8 at byte {second}", None,
    ]
    assert recs[2].raw == b'2024-01-02T03:04:05Z,INFO,"multi\nline \xff here"'
    assert_accounted(data, recs, csv_header=True)


@pytest.mark.parametrize("delimiter", ["\t", ";", "|"])
def test_csv_other_delimiters(tmp_path: Path, delimiter: str) -> None:
    data = delimiter.join(["timestamp", "level", "message"]) + "\n" + delimiter.join(
        ["2024-01-02T03:04:05Z", "INFO", "a, b"]
    ) + "\n"
    (rec,) = parse(tmp_path, "a.tsv", data)
    assert rec.error is None and rec.message == "a, b"


def test_csv_duplicate_and_empty_header_names(tmp_path: Path) -> None:
    data = "timestamp,level,message,x,x,\n2024-01-02T03:04:05Z,INFO,m,1,2,3\n"
    (rec,) = parse(tmp_path, "a.csv", data)
    assert rec.attrs == {"x": "1", "x_5": "2", "column_6": "3"}


def test_csv_unreadable_header(tmp_path: Path) -> None:
    data = b"time\xffstamp,level,message\n2024-01-02T03:04:05Z,INFO,m\n"
    recs = parse(tmp_path, "a.csv", data)
    assert recs[0].line == 1 and recs[0].error == "unreadable CSV header: invalid UTF-8 at byte 4"
    # without a header nothing can be interpreted: every row is an error record
    assert [(r.line, r.error) for r in recs[1:]] == [(2, "unreadable CSV header")]
    assert_accounted(data, recs, csv_header=True)


# -- text formats ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "level", "service", "message", "attrs"),
    [
        ("INFO [main] com.x.A: with thread", "INFO", "com.x.A", "with thread", {"thread": "main"}),
        ("WARN  com.x.B - dash separator", "WARN", "com.x.B", "dash separator", {}),
        ("[pool-1] ERROR com.x.C - thread first", "ERROR", "com.x.C", "thread first",
         {"thread": "pool-1"}),
        ("[WARN] com.x.D - bracketed level", "WARN", "com.x.D", "bracketed level", {}),
        ("[ERROR] [worker-2] com.x.E - both bracketed", "ERROR", "com.x.E", "both bracketed",
         {"thread": "worker-2"}),
        ("[main] [INFO] com.x.F: thread then level", "INFO", "com.x.F", "thread then level",
         {"thread": "main"}),
        ("INFO: colon after level", "INFO", "dflt", "colon after level", {}),
        ("FATAL no logger at all here", "FATAL", "dflt", "no logger at all here", {}),
        ("INFO [main] com.x.G: [req=1] brackets in message", "INFO", "com.x.G",
         "[req=1] brackets in message", {"thread": "main"}),
        ("DEBUG [main] com.x.H -", "DEBUG", "com.x.H", "", {"thread": "main"}),
    ],
)
def test_log4j_layouts(
    tmp_path: Path, line: str, level: str, service: str, message: str, attrs: dict
) -> None:
    (rec,) = parse(tmp_path, "a.log", f"2024-01-02 03:04:05,123 {line}\n", fmt="log4j",
                   default_service="dflt")
    assert (rec.level, rec.service, rec.message, rec.attrs) == (level, service, message, attrs)
    assert rec.ts == datetime(2024, 1, 2, 3, 4, 5, 123000, tzinfo=UTC)
    assert rec.error == (None if message else "empty message")


def test_log4j_timestamp_variants(tmp_path: Path) -> None:
    data = (
        "2024-01-02T03:04:05.123Z DEBUG [main] com.x.D: iso with zone\n"
        "2024-01-02 05:04:05.123+02:00 DEBUG [main] com.x.D: offset\n"
        "2024-01-02 03:04:05 TRACE com.x.E: no millis\n"
    )
    recs = parse(tmp_path, "a.log", data)
    assert [r.error for r in recs] == [None] * 3
    assert recs[0].ts == recs[1].ts == datetime(2024, 1, 2, 3, 4, 5, 123000, tzinfo=UTC)
    assert recs[2].ts == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_log4j_stack_trace_is_one_record(tmp_path: Path) -> None:
    data = (HOSTILE / "java_stacktrace.log").read_bytes()
    recs = parse(tmp_path, "a.log", data)
    assert [(r.line, r.level) for r in recs] == [(1, "INFO"), (2, "ERROR"), (10, "WARN")]
    err = recs[1]
    assert err.message == (
        "request failed\njava.lang.IllegalStateException: boom\n"
        "\tat com.x.Handler.handle(Handler.java:42)\n\tat com.x.Server.run(Server.java:10)\n"
        "\nCaused by: java.io.IOException: disk\n\t... 2 more"
    )
    assert err.raw == b"\n".join(data.splitlines()[1:8])
    assert_accounted(data, recs)


def test_log4j_damaged_start_lines_become_error_records(tmp_path: Path) -> None:
    data = (
        "2024-01-02 03:04:05,123 INFO [main] com.x.A: ok\n"
        "2024-13-45 03:04:05,123 INFO [main] com.x.A: bad date\n"
        "2024-01-02 03:04:05,123 LOUD [main] com.x.A: bad level\n"
        "2024-01-02 03:04:05,123 [LOUDER] com.x.A: bad bracketed level\n"
        "2024-01-02 03:04:05,123 [main] com.x.A: no level at all\n"
        "2024-01-02 03:04:05,123 INFO [main] com.x.A:\n"
        "2024-01-02 03:04:05,123 INFO [main] com.x.A: ok again\n"
    )
    recs = parse(tmp_path, "a.log", data)
    assert [r.error for r in recs] == [
        None, "unparseable timestamp '2024-13-45 03:04:05,123'", "unknown level 'LOUD'",
        "unknown level 'LOUDER'", "unknown level 'main'", "empty message", None,
    ]


def test_text_bad_bytes_in_start_and_continuation_lines(tmp_path: Path) -> None:
    data = (
        b"2024-01-02 03:04:05,123 INFO [main] com.x.A: ok\n"
        b"2024-01-02 03:04:05,123 INFO [main] com.x.A: bad \xff start\n"
        b"2024-01-02 03:04:05,123 ERROR [main] com.x.A: good start\n"
        b"\tat bad.continuation(\xc3)\n"
        b"2024-01-02 03:04:05,123 ERROR [main] com.x.A: nul follows\n"
        b"\tat x\x00y\n"
        b"2024-01-02 03:04:05,123 INFO [main] com.x.A: ok\n"
    )
    recs = parse(tmp_path, "a.log", data)
    lines = data.splitlines()
    first = lines[1].index(b"\xff")
    second = len(lines[2]) + 1 + lines[3].index(b"\xc3")  # offset within the 2-line record
    assert [r.error for r in recs] == [
        None, f"invalid UTF-8 at byte {first}", f"invalid UTF-8 at byte {second}",
        "NUL byte in record", None,
    ]
    assert recs[2].raw == b"\n".join(data.splitlines()[2:4])
    assert_accounted(data, recs)


def test_orphan_continuation_lines(tmp_path: Path) -> None:
    data = (HOSTILE / "orphan_continuations.log").read_bytes()
    recs = parse(tmp_path, "a.log", data, fmt="log4j")
    assert [r.error for r in recs] == ["line is not a log4j record start"] * 2 + [None]
    assert_accounted(data, recs)


def test_python_logging_formats(tmp_path: Path) -> None:
    data = (HOSTILE / "python_traceback.log").read_bytes()
    recs = parse(tmp_path, "app.log", data)
    assert [(r.line, r.level, r.service) for r in recs] == [
        (1, "INFO", "app.worker"), (2, "ERROR", "app.worker"), (11, "WARN", "app.worker"),
        (12, "WARN", "app.legacy"),
    ]
    assert recs[1].message.startswith("job failed\nTraceback (most recent call last):\n")
    assert recs[1].message.endswith(
        "KeyError: 'x'\n\nDuring handling of the above exception, another exception occurred:"
        "\n\nValueError: bad"
    )
    assert recs[3].error == "missing timestamp"  # basicConfig "LEVEL:name:msg" form
    assert recs[3].message == "basicConfig form has no timestamp"
    assert [r.error for r in recs[:3]] == [None] * 3
    assert recs[0].ts == datetime(2024, 1, 2, 3, 4, 5, 123000, tzinfo=UTC)
    assert_accounted(data, recs)


def test_trailing_blank_lines_are_not_part_of_a_record(tmp_path: Path) -> None:
    data = (
        b"2024-01-02 03:04:05,123 - a - INFO - one\n\n  \n"
        b"2024-01-02 03:04:06,123 - a - INFO - two\n"
    )
    recs = parse(tmp_path, "a.log", data)
    assert [r.message for r in recs] == ["one", "two"] and recs[0].raw.count(b"\n") == 0


def test_syslog(tmp_path: Path) -> None:
    data = (HOSTILE / "syslog_mixed.log").read_bytes()
    recs = parse(tmp_path, "syslog", data, default_service="dflt")
    assert [r.error for r in recs] == [
        None, None, None, "missing level (syslog line has no <PRI>)", "invalid syslog PRI 999",
        "missing timestamp",
    ]
    r3164, r5424, bfg = recs[:3]
    assert (r3164.level, r3164.service, r3164.message) == (
        "FATAL", "su", "'su root' failed for lonvick on /dev/pts/8",
    )
    assert r3164.attrs == {"host": "mymachine", "pid": "123", "facility": 4, "severity": 2}
    assert r3164.ts.year == datetime.now(UTC).year and (r3164.ts.month, r3164.ts.day) == (10, 11)
    assert r5424.ts == datetime(2003, 10, 11, 22, 14, 15, 3000, tzinfo=UTC)
    assert (r5424.level, r5424.service, r5424.message) == (
        "INFO", "evntslog", "An application event log entry",
    )
    assert r5424.attrs["structured_data"] == {
        "exampleSDID@32473": {"iut": "3", "eventSource": "Application", "eventID": "1011"}
    }
    assert r5424.attrs["msgid"] == "ID47" and "procid" not in r5424.attrs
    assert (bfg.level, bfg.service, bfg.attrs["host"]) == ("INFO", "myapp", "10.0.0.99")
    json.dumps([r.attrs for r in recs])


@pytest.mark.parametrize(
    ("pri", "level"),
    [(0, "FATAL"), (1, "FATAL"), (2, "FATAL"), (3, "ERROR"), (4, "WARN"), (5, "INFO"),
     (6, "INFO"), (7, "DEBUG"), (191, "DEBUG"), (8 * 3 + 4, "WARN")],
)
def test_syslog_severity_from_pri(tmp_path: Path, pri: int, level: str) -> None:
    (rec,) = parse(tmp_path, "s.log", f"<{pri}>Jan  2 03:04:05 host app: m\n", fmt="syslog")
    assert rec.level == level and rec.error is None


def test_syslog_5424_with_bom_and_escaped_sd(tmp_path: Path) -> None:
    line = '<14>1 2024-01-02T03:04:05+01:00 h app 12 - [a@1 k="x\\"y\\]z"][b@2] \ufeffhello'
    (rec,) = parse(tmp_path, "s.log", line, fmt="syslog")
    assert rec.error is None and rec.message == "hello"
    assert rec.ts == datetime(2024, 1, 2, 2, 4, 5, tzinfo=UTC)
    assert rec.attrs["structured_data"] == {"a@1": {"k": 'x"y]z'}, "b@2": {}}
    assert rec.attrs["procid"] == "12"


def test_apache_error_log(tmp_path: Path) -> None:
    data = (HOSTILE / "apache_error.log").read_bytes()
    recs = parse(tmp_path, "error_log", data, default_service="httpd")
    assert [r.level for r in recs[:3]] == ["INFO", "ERROR", "ERROR"]
    assert recs[2].attrs == {"module": "core", "pid": "35708", "tid": "4328636416",
                             "client": "72.15.99.187:5000"}
    assert recs[2].message == "File does not exist: /usr/local/apache2/htdocs/favicon.ico"
    assert recs[2].ts == datetime(2000, 10, 11, 14, 32, 52, 123456, tzinfo=UTC)
    assert all(r.service == "httpd" for r in recs)
    assert [r.error for r in recs] == [
        None, None, None, "unparseable timestamp 'Sun Dec 44 04:47:44 2005'",
        "unknown level 'loud'",
    ]


def test_unknown_format_quarantines_every_line(tmp_path: Path) -> None:
    data = b"hello\nworld\n\n\xff\n"
    recs = parse(tmp_path, "notes.txt", data)
    assert [(r.line, r.error) for r in recs] == [
        (1, "unrecognised log format"), (2, "unrecognised log format"),
        (4, "invalid UTF-8 at byte 0"),
    ]


def test_line_endings_in_text_formats(tmp_path: Path) -> None:
    data = (HOSTILE / "mixed_line_endings.log").read_bytes()
    recs = parse(tmp_path, "a.log", data)
    assert [r.line for r in recs] == [1, 2, 3, 4]
    assert [r.message for r in recs] == ["crlf line", "lone cr line", "lf line",
                                         "last, no newline"]
    assert all(r.error is None and b"\r" not in r.raw for r in recs)


@pytest.mark.parametrize(
    ("fmt", "line"),
    [
        ("python", "2024-01-02 03:04:05,123 - " + "- " * 200_000),
        ("python", "2024-01-02 03:04:05,123 - " + "a - " * 100_000 + "x"),
        ("log4j", "2024-01-02 03:04:05,123 INFO [" + "x" * 400_000),
        ("log4j", "2024-01-02 03:04:05,123 INFO " + "a" * 400_000),
        ("syslog", '<1>1 - h a p m [x k="' + '\\"' * 200_000),
        ("syslog", "<1>1 - h a p m " + "[x]" * 100_000 + "["),
        ("syslog", "<1>Jan  2 03:04:05 h " + "a:" * 200_000),
        ("apache", "[Sun Dec 04 04:47:44 2005] [" + "a:" * 200_000),
        ("csv", '"' * 400_000),
    ],
)
# A regex in C ignores signals: the thread method ends the run with a stack dump instead of hanging.
@pytest.mark.timeout(60, method="thread")  # linear time takes well under a second
def test_pathological_long_lines_parse_in_linear_time(tmp_path: Path, fmt: str, line: str) -> None:
    # No catastrophic regex backtracking: a hang fails this test (pytest-timeout), not the whole run.
    head = "timestamp,level,message\n" if fmt == "csv" else ""
    recs = parse(tmp_path, "p.log", head + line + "\n", fmt=fmt)
    assert len(recs) == 1


# -- detection --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "fmt"),
    [
        ("x.log", JSON_LINE, "jsonl"),
        ("x.jsonl", b"garbage\n", "jsonl"),
        ("x.txt", b"timestamp,level,message\n1,2,3\n", "csv"),
        ("x.csv", b"foo,bar\n", "csv"),
        ("x", b"LineId,Date,Time,Level,Component,Content\n", "csv"),
        ("x", b"2024-01-02 03:04:05,123 INFO [main] a.B: m\n", "log4j"),
        ("x", b"2024-01-02 03:04:05,123 - a.b - INFO - m\n", "python"),
        ("x", b"INFO:root:hello\n", "python"),
        ("x", b"<34>Oct 11 22:14:15 host su: m\n", "syslog"),
        ("x", b"Oct 11 22:14:15 host su[1]: m\n", "syslog"),
        ("x", b"<165>1 2003-10-11T22:14:15.003Z h a - - - m\n", "syslog"),
        ("x", b"[Sun Dec 04 04:47:44 2005] [notice] m\n", "apache"),
        ("x.log", b"just some words\n", "unknown"),
        ("x.log", b"", "unknown"),
        ("x.jsonl", b"", "jsonl"),
    ],
)
def test_detect_format(name: str, content: bytes, fmt: str) -> None:
    assert detect_format(Path(name), content) == fmt
    assert detect_format(Path(name + ".gz"), gzip.compress(content)) == fmt


# -- hostile corpus & the accounting invariant --------------------------------


def _hostile_files() -> list[Path]:
    return sorted(p for p in HOSTILE.iterdir() if p.is_file())


@pytest.mark.parametrize("path", _hostile_files(), ids=lambda p: p.name)
def test_hostile_corpus_never_crashes_and_accounts_every_line(path: Path) -> None:
    data = path.read_bytes()
    recs = list(iter_records(path))
    for rec in recs:
        assert isinstance(rec, Record)
        assert rec.level is None or rec.level in LEVELS
        assert rec.ts is None or rec.ts.tzinfo is UTC
        json.dumps(rec.attrs)
        for text in (rec.message, rec.service, rec.error):
            if text is not None:
                assert "\x00" not in text
                text.encode("utf-8")  # storable: no lone surrogates
        if rec.error is None:
            assert rec.ts is not None and rec.level is not None and rec.message
    if path.name.endswith(".gz") or data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError):
            assert recs and recs[-1].error.split(":")[0] in ("truncated gzip", "corrupt gzip")
            return
    fmt = detect_format(path, read_head(path))
    assert_accounted(data, recs, csv_header=fmt == "csv")


def _fuzz_line(rnd: random.Random, fmt: str, i: int) -> bytes:
    ts = f"2024-01-02 03:04:{i % 60:02d},{i % 1000:03d}"
    good = {
        "jsonl": json.dumps({"ts": ts, "level": "INFO", "message": f"m{i}"}).encode(),
        "csv": f"{ts.replace(',', '.')},WARN,m{i}".encode(),
        "log4j": f"{ts} INFO [main] com.x.A: m{i}".encode(),
        "python": f"{ts} - app - ERROR - m{i}".encode(),
        "syslog": f"<13>Jan  2 03:04:05 host app[1]: m{i}".encode(),
        "apache": f"[Sun Dec 04 04:47:44 2005] [error] m{i}".encode(),
    }[fmt]
    choice = rnd.random()
    if choice < 0.45:
        return good
    return rnd.choice([
        b"", b"   ", b"\t", good[: rnd.randint(0, len(good))], good + b"\xff", b"\x00" + good,
        b"\tat com.x.Frame(X.java:1)", b"Caused by: x", b'"', b'a,"b', b'c",d', b"{", b"[]",
        b"\xef\xbb\xbf" + good, good.replace(b"INFO", b"LOUD").replace(b"WARN", b"LOUD"),
        good.replace(b"2024", b"1234"), bytes(rnd.randrange(256) for _ in range(20)),
        b",,,,,,", b'"""', good + b',"x', good.upper(),
    ])


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "log4j", "python", "syslog", "apache"])
def test_accounting_invariant_on_random_hostile_files(tmp_path: Path, fmt: str) -> None:
    rnd = random.Random(fmt)
    for trial in range(120):
        lines = [_fuzz_line(rnd, fmt, i) for i in range(rnd.randint(0, 30))]
        if fmt == "csv":
            lines.insert(0, b"timestamp,level,message")
        ends = [rnd.choice([b"\n", b"\r\n", b"\r"]) for _ in lines]
        data = b"".join(line + end for line, end in zip(lines, ends))
        if data and rnd.random() < 0.3:
            data = data[: -len(ends[-1])]  # no final newline
        if rnd.random() < 0.1:
            data = b"\xef\xbb\xbf" + data
        limit = rnd.choice([None, 60])
        path = write(tmp_path, f"f{trial}.{fmt}", data)
        for how in (fmt, "auto"):
            recs = list(iter_records(path, fmt=how, max_bytes=limit))
            assert_accounted(data, recs, csv_header=(how if how != "auto" else
                                                    detect_format(path, data)) == "csv")
            for rec in recs:
                json.dumps(rec.attrs)
                if rec.message is not None:
                    rec.message.encode()


# -- loghub samples (read from ../shared, never copied into the repo) -------------

LOGHUB_LEVELS = {
    "HDFS": {"INFO": 1920, "WARN": 80},
    "Hadoop": {"INFO": 1040, "WARN": 808, "ERROR": 150, "FATAL": 2},
    "Zookeeper": {"WARN": 1318, "INFO": 669, "ERROR": 13},
    "OpenStack": {"INFO": 1969, "WARN": 31},
    "Apache": {"INFO": 1405, "ERROR": 595},
    "Spark": {"INFO": 2000},
}


@pytest.mark.parametrize("system", sorted(LOGHUB_LEVELS))
def test_loghub_structured_csv_parses_without_errors(system: str) -> None:
    path = LOGHUB / f"{system}_2k.log_structured.csv"
    if not path.exists():
        pytest.skip(f"{path} not available (no ../shared/data/loghub)")
    assert detect_format(path, read_head(path)) == "csv"
    recs = list(iter_records(path, default_service=system.lower()))
    assert [r.error for r in recs if r.error] == []
    assert len(recs) == 2000
    assert Counter(r.level for r in recs) == LOGHUB_LEVELS[system]
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r.message for r in recs] == [row["Content"] for row in rows]
    assert [r.attrs["EventId"] for r in recs] == [row["EventId"] for row in rows]
    assert all(r.attrs["EventTemplate"] for r in recs)
    assert all(r.service == system.lower() for r in recs)
    assert all(datetime(2000, 1, 1, tzinfo=UTC) < r.ts < datetime(2020, 1, 1, tzinfo=UTC)
               for r in recs)
    assert [r.attrs["LineId"] for r in recs] == [str(i) for i in range(1, 2001)]
