"""JSON lines: one JSON object per physical line.

Recognised keys (first present alias wins, the others stay in attrs):
timestamp ``ts``/``timestamp``/``@timestamp``/``time``/``datetime`` (string or
epoch number), level ``level``/``severity``/``levelname``/``lvl``/``log_level``/
``loglevel``, message ``message``/``msg``/``event`` (structlog), service
``service``/``service_name``/``app``/``app_name``/``application``/``logger_name``/
``logger``, anomaly flag ``is_anomaly``/``anomaly``. Every other key goes to
``attrs`` unchanged.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import datetime

import msgspec

from logintel.levels import LEVEL_CACHE
from logintel.sources.fields import (
    NUL_REASON,
    anomaly_field,
    level_field,
    message_field,
    service_field,
    timestamp_field,
)
from logintel.sources.reader import BadLine
from logintel.sources.record import Record, bad_record
from logintel.sources.timestamps import MAX_YEAR, MIN_YEAR, UTC

TS_KEYS = ("ts", "timestamp", "@timestamp", "time", "datetime")
LEVEL_KEYS = ("level", "severity", "levelname", "lvl", "log_level", "loglevel")
MESSAGE_KEYS = ("message", "msg", "event")
SERVICE_KEYS = (
    "service", "service_name", "app", "app_name", "application", "logger_name", "logger",
)
ANOMALY_KEYS = ("is_anomaly", "anomaly")

MAX_DEPTH = 64  # deeper attrs are garbage, and can break recursive consumers
_MISSING = object()


def _reject_constant(name: str) -> None:
    # NaN / Infinity are not JSON and PostgreSQL jsonb rejects them.
    raise ValueError(f"non-standard JSON constant {name}")


def _finite_float(text: str) -> float:
    # 1e400 parses to inf, which json.dumps writes as Infinity: same problem.
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number out of range {text[:40]}")
    return value


_decode = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float).decode
_fast_decode = msgspec.json.Decoder().decode


def _decode_line(text: str) -> object:
    """msgspec first: it parses well-formed lines 3x faster and refuses NaN, Infinity and 1e400 as
    the hooks above do, so a line it parses is one the stdlib decoder parses to the same value.
    What it refuses goes to the stdlib decoder, which parses it (a lone surrogate escape, caught by
    the caller) or raises the error the quarantine reason is made of, as it always did."""
    try:
        return _fast_decode(text)
    except (msgspec.MsgspecError, RecursionError):
        return _decode(text)


def _take(obj: dict, keys: tuple[str, ...]) -> object:
    """Pop the first present alias; None when absent."""
    for key in keys:
        if key in obj:
            return obj.pop(key)
    return None


def _string_problem(obj: object) -> str | None:
    """NUL or lone surrogates from \\u escapes: valid JSON, unstorable text."""
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            strings = (item,)
        elif isinstance(item, dict):
            strings = tuple(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
            continue
        else:
            continue
        for s in strings:
            if "\x00" in s:
                return NUL_REASON
            try:
                s.encode()
            except UnicodeEncodeError:
                return "invalid unicode escape (lone surrogate)"
    return None


def _depth(obj: object) -> int:
    deepest = 0
    stack = [(obj, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > deepest:
            deepest = depth
            if deepest > MAX_DEPTH:
                return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _json_error(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"invalid JSON: {exc.msg.removesuffix(' at')} at col {exc.colno}"
    if isinstance(exc, RecursionError):
        return "invalid JSON: nesting too deep"
    detail = str(exc)
    return f"invalid JSON: {detail[:100]}..." if len(detail) > 100 else f"invalid JSON: {detail}"


def parse_jsonl(
    blocks: Iterator[tuple[int, list[bytes]]], default_service: str | None
) -> Iterator[Record]:
    decode = _decode_line
    fromiso = datetime.fromisoformat
    level_cache = LEVEL_CACHE  # raw spelling -> level, seeded with the common ones
    for start, lines in blocks:
        lineno = start - 1
        for raw in lines:
            lineno += 1
            if raw.__class__ is BadLine:  # before the emptiness test: it may be b""
                yield bad_record(lineno, raw, raw.reason)  # type: ignore[attr-defined]
                continue
            if not raw:
                continue
            if b"\x00" in raw:
                yield bad_record(lineno, raw, NUL_REASON)
                continue
            try:
                text = raw.decode()
            except UnicodeDecodeError as exc:
                yield bad_record(lineno, raw, f"invalid UTF-8 at byte {exc.start}")
                continue
            try:
                obj = decode(text)
            except (ValueError, RecursionError) as exc:
                if text.isspace():
                    continue  # blank line
                yield bad_record(lineno, raw, _json_error(exc))
                continue
            if obj.__class__ is not dict:
                yield bad_record(
                    lineno, raw, f"JSON value is not an object ({type(obj).__name__})"
                )
                continue
            if "\\u" in text:
                problem = _string_problem(obj)
                if problem:
                    yield bad_record(lineno, raw, problem)
                    continue
            if text.count("{") + text.count("[") > MAX_DEPTH // 2 and _depth(obj) > MAX_DEPTH:
                yield bad_record(lineno, raw, f"JSON nested too deep (> {MAX_DEPTH} levels)")
                continue

            # Field extraction. Each field has an inlined fast path for the
            # common well-formed value; anything else goes through the shared
            # helpers, which also produce the quarantine reasons.
            errors: list[str] = []
            value = obj.pop("ts", _MISSING)
            if value is _MISSING:
                value = _take(obj, TS_KEYS)
            ts = None
            if value.__class__ is str:
                try:
                    ts = fromiso(value)
                    tz = ts.tzinfo
                    if tz is None:
                        ts = ts.replace(tzinfo=UTC)
                    elif tz is not UTC:
                        ts = ts.astimezone(UTC)
                    if not MIN_YEAR <= ts.year <= MAX_YEAR:
                        ts = None
                except (ValueError, OverflowError):
                    ts = None
            if ts is None:
                ts = timestamp_field(value, errors)
            value = obj.pop("level", _MISSING)
            if value is _MISSING:
                value = _take(obj, LEVEL_KEYS)
            level = level_cache.get(value) if value.__class__ is str else None
            if level is None:
                level = level_field(value, errors)
            value = obj.pop("message", _MISSING)
            if value is _MISSING:
                value = _take(obj, MESSAGE_KEYS)
            if value.__class__ is str and value and not value.isspace():
                message = value
            else:
                message = message_field(value, errors)
            value = obj.pop("service", _MISSING)
            if value is _MISSING:
                value = _take(obj, SERVICE_KEYS)
            if value.__class__ is str and value and not value.isspace():
                service = value
            else:
                service = service_field(value, default_service, errors)
            value = obj.pop("is_anomaly", _MISSING)
            if value is _MISSING:
                value = _take(obj, ANOMALY_KEYS)
            if value is None or value.__class__ is bool:
                anomaly = value
            else:
                anomaly = anomaly_field(value, errors)
            yield Record(
                lineno, raw, ts, level, message, service, anomaly, obj,
                "; ".join(errors) if errors else None,
            )
