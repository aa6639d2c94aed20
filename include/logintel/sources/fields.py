"""Field-level helpers shared by the parsers: decoding, anomaly flags, checks.

Each helper reports a problem as a short human-readable reason string (the
quarantine reason), never by raising out of the parser.
"""

from __future__ import annotations

from datetime import datetime

from logintel.levels import normalise_level
from logintel.sources.timestamps import TimestampError, parse_epoch, parse_timestamp, quote

NUL_REASON = "NUL byte in record"

_TRUE = frozenset({"true", "1", "yes", "y", "t"})
_FALSE = frozenset({"false", "0", "no", "n", "f"})


def decode(raw: bytes, offset: int = 0) -> tuple[str, str | None]:
    """Decode one physical line; returns (text, problem).

    On invalid UTF-8 the text is decoded with replacement characters (so the
    line can still be recognised as a record start or continuation) and the
    problem names the byte offset within the record (``offset`` = bytes of the
    record before this line).
    """
    try:
        text = raw.decode()
    except UnicodeDecodeError as exc:
        return raw.decode("utf-8", "replace"), f"invalid UTF-8 at byte {offset + exc.start}"
    if "\x00" in text:
        return text, NUL_REASON
    return text, None


def parse_anomaly(value: object) -> bool | None:
    """bool / 0 / 1 / "true" / "no" / "" ... -> bool or None; raises ValueError."""
    if value is None or value.__class__ is bool:
        return value  # type: ignore[return-value]
    if isinstance(value, str):
        key = value.strip().lower()
        if not key:
            return None
        if key in _TRUE:
            return True
        if key in _FALSE:
            return False
    elif isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    raise ValueError(f"invalid is_anomaly {quote(value)}")


def timestamp_field(value: object, errors: list[str]) -> datetime | None:
    """Timestamp from a string or an epoch number; appends the reason on failure."""
    if value is None or value == "":
        errors.append("missing timestamp")
        return None
    try:
        if isinstance(value, str):
            return parse_timestamp(value)
        return parse_epoch(value)  # type: ignore[arg-type]
    except TimestampError as exc:
        errors.append(str(exc))
        return None


def level_field(value: object, errors: list[str]) -> str | None:
    if value is None or value == "":
        errors.append("missing level")
        return None
    level = normalise_level(value) if isinstance(value, str) else None
    if level is None:
        errors.append(f"unknown level {quote(value)}")
    return level


def message_field(value: object, errors: list[str]) -> str | None:
    """The message kept verbatim; empty / whitespace-only is an error."""
    if isinstance(value, str):
        if not value or value.isspace():
            errors.append("empty message")
        return value
    if value is None:
        errors.append("empty message")
        return None
    if isinstance(value, (int, float)):  # a bare number is still a message
        return str(value)
    errors.append(f"message is not a string ({type(value).__name__})")
    return None


def anomaly_field(value: object, errors: list[str]) -> bool | None:
    try:
        return parse_anomaly(value)
    except ValueError as exc:
        errors.append(str(exc))
        return None


def service_field(value: object, default: str | None, errors: list[str]) -> str | None:
    if value is None:
        return default
    if isinstance(value, str):
        return value if value.strip() else default
    errors.append(f"service is not a string ({type(value).__name__})")
    return default
