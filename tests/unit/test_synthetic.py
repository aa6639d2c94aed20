"""Unit tests for the synthetic log generator and writers (logintel.synthetic)."""
from __future__ import annotations

import collections
import csv
import gzip
import json
import re
from datetime import datetime, timedelta, timezone
from itertools import islice

import pytest

from logintel.synthetic import (
    EPISODE_KINDS, FORMATS, LEVELS, SERVICES, SYSLOG_SEVERITY, TEMPLATE_BY_ID, TEMPLATES,
    generate, write_logs,
)

UTC = timezone.utc
START = datetime(2024, 3, 4, tzinfo=UTC)  # a Monday
DAYS = 7
N = 100_000
RECORD_KEYS = {"ts", "service", "level", "message", "is_anomaly", "host", "trace_id", "_template", "_episode"}
OUT_KEYS = ["ts", "level", "service", "message", "is_anomaly", "host", "trace_id"]


@pytest.fixture(scope="module")
def recs() -> list[dict]:
    return list(generate(N, days=DAYS, seed=42, start=START))


# ------------------------------------------------------------------------ catalogue
def test_catalogue_shape():
    normal = [t for t in TEMPLATES if t.role != "rare"]
    rare = [t for t in TEMPLATES if t.role == "rare"]
    assert len(normal) >= 60
    assert len(rare) >= 3
    assert {t.service for t in TEMPLATES} == set(SERVICES)
    assert all(t.level in LEVELS for t in TEMPLATES)
    fatal_services = {t.service for t in normal if t.level == "FATAL"}
    assert len(fatal_services) >= 4
    for lvl in LEVELS:
        assert any(t.level == lvl for t in normal), lvl
    # same words, different level: the model has to read the meaning
    assert TEMPLATE_BY_ID["orders.retry"].level == "WARN"
    assert TEMPLATE_BY_ID["orders.giveup"].level == "ERROR"
    assert TEMPLATE_BY_ID["gateway.request_ok"].level == "INFO"
    assert TEMPLATE_BY_ID["gateway.request_server_error"].level == "ERROR"


# ----------------------------------------------------------------------- generator
def test_count_keys_and_types(recs):
    assert len(recs) == N
    r = recs[0]
    assert set(r) == RECORD_KEYS
    for r in recs[:2000]:
        assert r["level"] in LEVELS and r["service"] in SERVICES
        assert isinstance(r["message"], str) and r["message"] and "\n" not in r["message"]
        assert isinstance(r["is_anomaly"], bool)
        assert re.fullmatch(r"[a-z0-9-]+", r["host"])
        assert re.fullmatch(r"[0-9a-f]{32}", r["trace_id"])
        assert TEMPLATE_BY_ID[r["_template"]].level == r["level"]
        assert TEMPLATE_BY_ID[r["_template"]].service == r["service"]



def test_placeholders_all_filled(recs):
    bad = [r["message"] for r in recs if "{" in r["message"] or "%s" in r["message"]]
    assert not bad, bad[:3]
    # variable parts really vary
    msgs = collections.defaultdict(set)
    for r in recs:
        msgs[r["_template"]].add(r["message"])
    varying = [t for t, m in msgs.items() if len(m) > 1]
    assert len(varying) >= 0.9 * len(msgs)


def test_deterministic():
    a = list(generate(20_000, days=2, seed=7, start=START))
    b = list(generate(20_000, days=2, seed=7, start=START))
    assert a == b
    c = list(generate(20_000, days=2, seed=8, start=START))
    assert [r["message"] for r in a] != [r["message"] for r in c]


def test_default_start_is_now_minus_days():
    first = next(iter(generate(1000, days=1, seed=1)))
    now = datetime.now(UTC)
    assert now - timedelta(days=1, minutes=2) <= first["ts"] <= now


def test_naive_start_is_utc():
    a = list(islice(generate(500, days=1, seed=1, start=START.replace(tzinfo=None)), 50))
    b = list(islice(generate(500, days=1, seed=1, start=START), 50))
    assert a == b


def test_timestamps_ordered_and_in_range(recs):
    ts = [r["ts"] for r in recs]
    assert all(t.tzinfo is not None and t.utcoffset() == timedelta(0) for t in ts[:1000])
    assert all(a <= b for a, b in zip(ts, ts[1:]))
    assert ts[0] >= START and ts[-1] <= START + timedelta(days=DAYS)
    assert all(t.microsecond % 1000 == 0 for t in ts)
    assert ts[-1] - ts[0] > timedelta(days=DAYS - 0.5)  # spread over the whole range


def test_daily_cycle(recs):
    hours = collections.Counter(r["ts"].hour for r in recs)
    day = sum(hours[h] for h in range(11, 17))
    night = sum(hours[h] for h in range(0, 6))
    assert day > 1.8 * night


def test_level_mix(recs):
    c = collections.Counter(r["level"] for r in recs)
    share = {lvl: c[lvl] / len(recs) for lvl in LEVELS}
    assert 0.15 <= share["DEBUG"] <= 0.20, share
    assert 0.60 <= share["INFO"] <= 0.70, share
    assert 0.08 <= share["WARN"] <= 0.12, share
    assert 0.03 <= share["ERROR"] <= 0.05, share
    assert 0.001 <= share["FATAL"] <= 0.003, share


def test_templates_coverage_and_skew(recs):
    c = collections.Counter(r["_template"] for r in recs)
    assert len(c) >= 60
    normal_ids = [t.id for t in TEMPLATES if t.role != "rare"]
    assert all(c[t] >= 10 for t in normal_ids), sorted((c[t], t) for t in normal_ids)[:5]
    counts = sorted(c.values(), reverse=True)
    assert counts[0] / N > 0.10  # a few very common templates ...
    assert sum(counts[:5]) / N > 0.35
    assert sorted(counts)[len(counts) // 2] / N < 0.01  # ... and a long tail


def test_every_service_present(recs):
    c = collections.Counter(r["service"] for r in recs)
    assert set(c) == set(SERVICES)
    assert all(v >= 500 for v in c.values())


def test_anomaly_share_and_kinds(recs):
    anom = [r for r in recs if r["is_anomaly"]]
    assert 0.005 <= len(anom) / len(recs) <= 0.05
    assert {r["_episode"] for r in anom} == set(EPISODE_KINDS)
    assert all(r["_episode"] is None for r in recs if not r["is_anomaly"])
    # rare templates only inside episodes
    rare = {t.id for t in TEMPLATES if t.role == "rare"}
    assert all(r["is_anomaly"] for r in recs if r["_template"] in rare)
    assert any(r["_template"] in rare for r in anom)
    # ordinary ERROR/WARN lines outside episodes are not anomalies
    normal_err = sum(1 for r in recs if not r["is_anomaly"] and r["level"] == "ERROR")
    assert normal_err / N > 0.02


def test_anomaly_episode_shapes(recs):
    anom = [r for r in recs if r["is_anomaly"]]
    by_kind = collections.defaultdict(list)
    for r in anom:
        by_kind[r["_episode"]].append(r)
    assert all(r["level"] in ("ERROR", "FATAL", "WARN") for r in by_kind["error_burst"])
    assert all(TEMPLATE_BY_ID[r["_template"]].role == "slow" for r in by_kind["latency_spike"])
    assert all(TEMPLATE_BY_ID[r["_template"]].role == "rare" for r in by_kind["rare_message"])
    roles = collections.Counter(TEMPLATE_BY_ID[r["_template"]].role for r in by_kind["service_down"])
    assert roles["down"] > 0 and roles["started"] > 0
    assert set(roles) <= {"down", "retry", "giveup", "started"}


def test_service_down_is_silent(recs):
    recoveries = [(i, r) for i, r in enumerate(recs)
                  if r["is_anomaly"] and TEMPLATE_BY_ID[r["_template"]].role == "started"]
    assert recoveries
    for i, rec in recoveries:
        svc = rec["service"]
        # earliest episode line complaining about this service in the hour before recovery
        first = i
        j = i - 1
        while j >= 0 and rec["ts"] - recs[j]["ts"] <= timedelta(minutes=61):
            r = recs[j]
            if r["_episode"] == "service_down" and svc in r["message"]:
                first = j
            j -= 1
        assert first < i, "no caller lines before recovery"
        assert not any(r["service"] == svc for r in recs[first:i])


def test_small_and_odd_sizes():
    assert list(generate(0, seed=1, start=START)) == []
    assert len(list(generate(1, seed=1, start=START))) == 1
    r = list(generate(3000, days=0.02, seed=1, start=START))
    assert len(r) == 3000 and r[-1]["ts"] <= START + timedelta(days=0.02)
    with pytest.raises(ValueError):
        generate(10, days=0)


# ------------------------------------------------------------------------- writers
_TEXT_TS = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}"
_ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
_RX = {
    "log4j": re.compile(rf"^(?P<ts>{_TEXT_TS}) (?P<level>[A-Z]+) \[(?P<host>[^\]]+)\] (?P<service>[a-z]+): (?P<message>.*)$"),
    "python": re.compile(rf"^(?P<ts>{_TEXT_TS}) - (?P<service>[a-z]+) - (?P<level>[A-Z]+) - (?P<message>.*)$"),
    "syslog": re.compile(rf"^<(?P<pri>\d+)>1 (?P<ts>{_ISO}) (?P<host>\S+) (?P<service>\S+) - - - (?P<message>.*)$"),
}


@pytest.fixture(scope="module")
def sample(recs) -> list[dict]:
    # a mix of normal and anomalous lines, plus awkward hand-made ones
    picked = recs[:1500] + [r for r in recs if r["is_anomaly"]][:300]
    picked.sort(key=lambda r: r["ts"])
    odd = dict(picked[0], message='multi\nline, with "quotes", commas\tand ünïcödé', _template="x")
    return picked + [odd]


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def _text_ts(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%d %H:%M:%S,") + f"{ts.microsecond // 1000:03d}"


@pytest.mark.parametrize("gz", [False, True])
def test_write_jsonl(tmp_path, sample, gz):
    path = tmp_path / ("out.jsonl.gz" if gz else "out.jsonl")
    assert write_logs(iter(sample), path) == len(sample)
    opener = gzip.open if gz else open
    with opener(path, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    assert len(rows) == len(sample)
    for row, r in zip(rows, sample):
        assert list(row) == OUT_KEYS
        assert row["ts"] == _iso(r["ts"])
        assert (row["level"], row["service"], row["message"], row["is_anomaly"], row["host"], row["trace_id"]) == (
            r["level"], r["service"], r["message"], r["is_anomaly"], r["host"], r["trace_id"])


@pytest.mark.parametrize("gz", [False, True])
def test_write_csv(tmp_path, sample, gz):
    path = tmp_path / ("out.csv.gz" if gz else "out.csv")
    assert write_logs(sample, path, "csv") == len(sample)
    opener = gzip.open if gz else open
    with opener(path, "rt", encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = list(reader)
    assert header == ["timestamp", "level", "service", "message", "is_anomaly", "host", "trace_id"]
    assert len(rows) == len(sample)
    for row, r in zip(rows, sample):
        assert row == [_iso(r["ts"]), r["level"], r["service"], r["message"],
                       "true" if r["is_anomaly"] else "false", r["host"], r["trace_id"]]


@pytest.mark.parametrize("fmt", ["log4j", "python", "syslog"])
@pytest.mark.parametrize("gz", [False, True])
def test_write_text_formats(tmp_path, sample, fmt, gz):
    path = tmp_path / (f"out.{fmt}.log" + (".gz" if gz else ""))
    assert write_logs(sample, path, fmt) == len(sample)
    opener = gzip.open if gz else open
    with opener(path, "rt", encoding="utf-8") as f:
        lines = f.read().split("\n")
    assert lines[-1] == ""
    lines = lines[:-1]
    assert len(lines) == len(sample)  # embedded newlines are escaped
    rx = _RX[fmt]
    for line, r in zip(lines, sample):
        m = rx.match(line)
        assert m, line
        assert m["service"] == r["service"]
        assert m["message"] == r["message"].replace("\n", "\\n")
        if fmt == "syslog":
            assert int(m["pri"]) == 8 + SYSLOG_SEVERITY[r["level"]]
            assert m["ts"] == _iso(r["ts"])
        else:
            assert m["level"] == r["level"]
            assert m["ts"] == _text_ts(r["ts"])
        if "host" in rx.groupindex:
            assert m["host"] == r["host"]


def test_syslog_pri_values():
    assert {lvl: 8 + s for lvl, s in SYSLOG_SEVERITY.items()} == {
        "FATAL": 10, "ERROR": 11, "WARN": 12, "INFO": 14, "DEBUG": 15}


def test_gzip_is_deterministic_and_smaller(tmp_path, sample):
    a, plain = tmp_path / "a.jsonl.gz", tmp_path / "p.jsonl"
    write_logs(sample, a)
    first = a.read_bytes()
    write_logs(sample, a)  # rewriting the same file gives identical bytes (mtime 0)
    write_logs(sample, plain)
    assert a.read_bytes() == first
    assert first[:2] == b"\x1f\x8b"
    assert a.stat().st_size < plain.stat().st_size / 2


def test_writer_timestamp_handling(tmp_path):
    base = {"level": "INFO", "service": "auth", "message": "m", "is_anomaly": False, "host": "h", "trace_id": "t"}
    cet = timezone(timedelta(hours=1))
    records = [
        dict(base, ts=datetime(2024, 1, 2, 4, 4, 5, 123456, tzinfo=cet)),  # converted to UTC
        dict(base, ts=datetime(2024, 1, 2, 3, 4, 5, 123000)),  # naive = UTC
        dict(base, ts="2024-01-02T03:04:05.123Z"),
    ]
    p = tmp_path / "t.jsonl"
    assert write_logs(records, p) == 3
    assert [json.loads(x)["ts"] for x in p.read_text().splitlines()] == ["2024-01-02T03:04:05.123Z"] * 3
    p = tmp_path / "t.log"
    write_logs(records, p, "log4j")
    assert all(x.startswith("2024-01-02 03:04:05,123 INFO [h] auth: m") for x in p.read_text().splitlines())


def test_writer_rejects_unknown_format(tmp_path):
    assert "jsonl" in FORMATS
    with pytest.raises(ValueError):
        write_logs([], tmp_path / "x.txt", "xml")
    assert not (tmp_path / "x.txt").exists()


def test_writer_accepts_str_path_and_creates_dirs(tmp_path):
    p = tmp_path / "sub" / "dir" / "x.jsonl"
    assert write_logs(generate(10, seed=1, start=START), str(p)) == 10
    assert len(p.read_text().splitlines()) == 10
