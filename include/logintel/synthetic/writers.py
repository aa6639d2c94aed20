"""Writers for generated (or any) log records.

Formats (``fmt``):

* ``jsonl``  one JSON object per line with keys ``ts`` (ISO-8601 UTC with milliseconds
  and ``Z``), ``level``, ``service``, ``message``, ``is_anomaly``, ``host``, ``trace_id``.
* ``csv``    header ``timestamp,level,service,message,is_anomaly,host,trace_id``; RFC-4180
  quoting (csv module, ``\\n`` line endings); ``is_anomaly`` is ``true``/``false``.
* ``log4j``  ``2024-01-02 03:04:05,123 ERROR [host] service: message``
* ``python`` ``2024-01-02 03:04:05,123 - service - ERROR - message``
  (levels are written with Logintel's names WARN/FATAL, not logging's WARNING/CRITICAL)
* ``syslog`` RFC 5424 ``<PRI>1 2024-01-02T03:04:05.123Z host service - - - message`` with
  PRI = 1 (user facility) * 8 + severity (FATAL=2, ERROR=3, WARN=4, INFO=6, DEBUG=7).

The text formats (log4j, python, syslog) cannot carry ``is_anomaly`` (nor ``trace_id``;
``python`` also drops ``host``): ground truth for those files must be kept elsewhere,
e.g. by writing the same records as jsonl/csv too.  Keys starting with ``_`` (such as
``_template``) are never written.  A path ending in ``.gz`` is gzip-compressed
(deterministic: mtime 0).  Newlines inside messages are escaped as ``\\n`` in the
line-oriented text formats.
"""
from __future__ import annotations

import csv
import gzip
import io
from datetime import datetime, timezone
from json.encoder import encode_basestring_ascii as _jstr
from pathlib import Path
from typing import Callable, Iterable

UTC = timezone.utc
FORMATS = ("jsonl", "csv", "log4j", "python", "syslog")
SYSLOG_SEVERITY = {"FATAL": 2, "ERROR": 3, "WARN": 4, "INFO": 6, "DEBUG": 7}
_FLUSH = 20_000


def _parts(ts) -> tuple:
    """(Y, m, d, H, M, S, ms) in UTC for a datetime (naive = UTC) or ISO string."""
    if type(ts) is not datetime:
        if isinstance(ts, str):
            ts = datetime.fromisoformat(ts.replace("Z", "+00:00"))
        elif not isinstance(ts, datetime):
            raise TypeError(f"unsupported timestamp {ts!r}")
    tz = ts.tzinfo
    if tz is not None and tz is not UTC:
        ts = ts.astimezone(UTC)
    return ts.year, ts.month, ts.day, ts.hour, ts.minute, ts.second, ts.microsecond // 1000


def iso_ms(ts) -> str:
    """``2024-01-02T03:04:05.123Z``"""
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % _parts(ts)


def _text_ts(ts) -> str:
    return "%04d-%02d-%02d %02d:%02d:%02d,%03d" % _parts(ts)


def _one_line(s: str) -> str:
    if "\n" in s or "\r" in s:
        return s.replace("\r", "\\r").replace("\n", "\\n")
    return s


_JSONL_FAST = ('{"ts":"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ","level":%s,"service":%s,"message":%s,'
               '"is_anomaly":%s,"host":%s,"trace_id":%s}\n')


def _jsonl(r: dict) -> str:
    ts = r["ts"]
    if type(ts) is datetime and ts.tzinfo is UTC:  # fast path (what generate() yields)
        return _JSONL_FAST % (
            ts.year, ts.month, ts.day, ts.hour, ts.minute, ts.second, ts.microsecond // 1000,
            _jstr(r["level"]), _jstr(r["service"]), _jstr(r["message"]),
            "true" if r.get("is_anomaly") else "false",
            _jstr(r.get("host") or ""), _jstr(r.get("trace_id") or ""))
    return '{"ts":"%s","level":%s,"service":%s,"message":%s,"is_anomaly":%s,"host":%s,"trace_id":%s}\n' % (
        iso_ms(ts), _jstr(r["level"]), _jstr(r["service"]), _jstr(r["message"]),
        "true" if r.get("is_anomaly") else "false",
        _jstr(r.get("host") or ""), _jstr(r.get("trace_id") or ""))


def _log4j(r: dict) -> str:
    return "%s %s [%s] %s: %s\n" % (_text_ts(r["ts"]), r["level"], r.get("host") or "-",
                                   r["service"], _one_line(r["message"]))


def _python(r: dict) -> str:
    return "%s - %s - %s - %s\n" % (_text_ts(r["ts"]), r["service"], r["level"], _one_line(r["message"]))


def _syslog(r: dict) -> str:
    return "<%d>1 %s %s %s - - - %s\n" % (8 + SYSLOG_SEVERITY[r["level"]], iso_ms(r["ts"]),
                                          r.get("host") or "-", r["service"] or "-",
                                          _one_line(r["message"]))


_LINE: dict[str, Callable[[dict], str]] = {"jsonl": _jsonl, "log4j": _log4j, "python": _python, "syslog": _syslog}


def _open(path: Path) -> io.TextIOBase:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.name.endswith(".gz"):
        raw = open(path, "wb")
        gz = gzip.GzipFile(filename=path.name[:-3], mode="wb", fileobj=raw, compresslevel=3, mtime=0)
        text = io.TextIOWrapper(gz, encoding="utf-8", newline="")
        text._logintel_raw = raw  # closed after the gzip trailer is written
        return text
    return open(path, "w", encoding="utf-8", newline="")


def write_logs(records: Iterable[dict], path: Path | str, fmt: str = "jsonl") -> int:
    """Write ``records`` to ``path`` in ``fmt`` (see module docstring); return the count."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {FORMATS}")
    path = Path(path)
    n = 0
    f = _open(path)
    try:
        if fmt == "csv":
            w = csv.writer(f, lineterminator="\n")
            w.writerow(("timestamp", "level", "service", "message", "is_anomaly", "host", "trace_id"))
            rows = []
            for r in records:
                rows.append((iso_ms(r["ts"]), r["level"], r["service"], r["message"],
                             "true" if r.get("is_anomaly") else "false",
                             r.get("host") or "", r.get("trace_id") or ""))
                if len(rows) >= _FLUSH:
                    w.writerows(rows)
                    n += len(rows)
                    rows = []
            w.writerows(rows)
            n += len(rows)
        else:
            line = _LINE[fmt]
            buf = []
            for r in records:
                buf.append(line(r))
                if len(buf) >= _FLUSH:
                    f.write("".join(buf))
                    n += len(buf)
                    buf = []
            f.write("".join(buf))
            n += len(buf)
    finally:
        f.close()
        raw = getattr(f, "_logintel_raw", None)
        if raw is not None:
            raw.close()
    return n
