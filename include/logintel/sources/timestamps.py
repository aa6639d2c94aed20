"""Timestamp parsing shared by every source format.

All results are timezone-aware UTC datetimes. Naive inputs are taken as UTC.
Failures raise :class:`TimestampError` whose message is the quarantine reason.

Fast path: ``datetime.fromisoformat`` (C code; in 3.11 it accepts "Z", a comma
before the fraction, any number of fraction digits and "+HHMM"). Everything else
goes through a list of precompiled patterns, with results cached because
slow-path formats (HDFS "081109 203615", syslog "Dec  4 04:47:44") repeat
the same second many times.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

UTC = timezone.utc
MIN_YEAR = 1970
MAX_YEAR = 2200

_fromiso = datetime.fromisoformat
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}


class TimestampError(ValueError):
    """A timestamp that cannot be turned into a meaningful UTC datetime."""


def quote(value: object, limit: int = 60) -> str:
    """Quote a value for a human-readable reason, shortened so a hostile 1 MB
    field does not produce a 1 MB reason."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        return repr(text[:limit]) + f"...({len(text)} chars)"
    return repr(text)


def _check(dt: datetime, raw: object) -> datetime:
    """Make aware-UTC and reject years that cannot be meaningful."""
    tz = dt.tzinfo
    if tz is None:
        dt = dt.replace(tzinfo=UTC)
    elif tz is not UTC:
        try:
            dt = dt.astimezone(UTC)
        except (OverflowError, ValueError):
            raise TimestampError(f"timestamp out of range {quote(raw)}") from None
    year = dt.year
    if year < MIN_YEAR or year > MAX_YEAR:
        raise TimestampError(
            f"timestamp year {year} out of range ({MIN_YEAR}-{MAX_YEAR}) {quote(raw)}"
        )
    return dt


def parse_epoch(value: float | int, raw: object | None = None) -> datetime:
    """Epoch number -> UTC datetime; unit guessed from magnitude.

    Seconds up to 1e11 (year 5138), then millis, micros, nanos. A wrong guess
    lands outside 1970-2200 and is rejected rather than silently misread.
    """
    raw = value if raw is None else raw
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TimestampError(f"unparseable timestamp {quote(raw)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise TimestampError(f"unparseable timestamp {quote(raw)}")
    magnitude = abs(value)
    if magnitude < 1e11:
        seconds = value
    elif magnitude < 1e14:
        seconds = value / 1e3
    elif magnitude < 1e17:
        seconds = value / 1e6
    else:
        seconds = value / 1e9
    # Stay far away from datetime's own limits before building one.
    if not (-1e11 < seconds < 1e11):
        raise TimestampError(f"timestamp out of range {quote(raw)}")
    dt = _EPOCH + timedelta(seconds=seconds)
    return _check(dt, raw)


def parse_timestamp(value: str) -> datetime:
    """Parse a timestamp string into an aware UTC datetime or raise TimestampError."""
    try:
        dt = _fromiso(value)
    except (ValueError, TypeError):
        return _parse_slow(value)
    return _check(dt, value)


_SLOW_CACHE: dict[str, datetime] = {}
_SLOW_CACHE_MAX = 50_000


def _parse_slow(value: str) -> datetime:
    try:
        return _SLOW_CACHE[value]
    except KeyError:
        pass
    except TypeError:
        raise TimestampError(f"unparseable timestamp {quote(value)}") from None
    if not isinstance(value, str):
        raise TimestampError(f"unparseable timestamp {quote(value)}")
    dt = _try_formats(value)
    if dt is None:
        raise TimestampError(f"unparseable timestamp {quote(value)}")
    dt = _check(dt, value)
    if len(_SLOW_CACHE) >= _SLOW_CACHE_MAX:
        _SLOW_CACHE.clear()
    _SLOW_CACHE[value] = dt
    return dt


def _frac_to_us(frac: str | None) -> int:
    if not frac:
        return 0
    return int((frac + "000000")[:6])


def _two_digit_year(yy: int) -> int:
    # Same pivot as strptime's %y: 69-99 -> 19xx, 00-68 -> 20xx.
    return 1900 + yy if yy >= 69 else 2000 + yy


def _year_from(text: str) -> int:
    return _two_digit_year(int(text)) if len(text) == 2 else int(text)


_RE_EPOCH = re.compile(r"-?\d+(?:\.\d+)?")
# yy/MM/dd or yyyy/MM/dd (Spark "17/06/09 20:10:40"); never dd/MM/yyyy (ambiguous).
_RE_SLASH = re.compile(
    r"(\d{4}|\d{2})/(\d{1,2})/(\d{1,2})[ T:](\d{1,2}):(\d\d):(\d\d)(?:[.,](\d+))?"
)
# HDFS "081109 203615" (yyMMdd HHmmss)
_RE_COMPACT = re.compile(r"(\d\d)(\d\d)(\d\d)[ T]?(\d\d)(\d\d)(\d\d)(?:[.,](\d+))?")
# ctime / Apache "Sun Dec 04 04:47:44 2005" (also with .micros, without weekday)
_RE_CTIME = re.compile(
    r"(?:[A-Za-z]{3},? +)?([A-Za-z]{3}) +(\d{1,2}) (\d\d):(\d\d):(\d\d)(?:[.,](\d+))? (\d{4})"
)
# syslog RFC 3164 "Dec  4 04:47:44" - no year: current UTC year
_RE_SYSLOG = re.compile(r"([A-Za-z]{3}) +(\d{1,2}) (\d\d):(\d\d):(\d\d)(?:[.,](\d+))?")
# Common log format "10/Oct/2000:13:55:36 -0700"
_RE_CLF = re.compile(r"(\d{1,2})/([A-Za-z]{3})/(\d{4}):(\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)")
# RFC 2822 "Tue, 02 Jan 2024 03:04:05 +0000"
_RE_RFC2822 = re.compile(
    r"(?:[A-Za-z]{3}, *)?\d{1,2} [A-Za-z]{3} \d{2,4} \d\d:\d\d(?::\d\d)?(?: .*)?"
)
# ISO-ish with a trailing zone word: "2024-01-02 03:04:05 UTC"
_RE_ZONE_WORD = re.compile(r"(.*\d)\s*(?:UTC|GMT|Z)", re.IGNORECASE)


def _month(name: str) -> int:
    month = _MONTHS.get(name.lower())
    if month is None:
        raise ValueError(name)
    return month


def _try_formats(value: str) -> datetime | None:
    text = value.strip()
    if not text or len(text) > 64:
        return None
    try:
        if text != value:
            try:
                return _fromiso(text)
            except ValueError:
                pass
        if _RE_EPOCH.fullmatch(text):
            number = float(text) if "." in text else int(text)
            return parse_epoch(number, value)
        m = _RE_SLASH.fullmatch(text)
        if m:
            y, mo, d, h, mi, s, frac = m.groups()
            return datetime(_year_from(y), int(mo), int(d), int(h), int(mi), int(s),
                            _frac_to_us(frac))
        m = _RE_COMPACT.fullmatch(text)
        if m:
            y, mo, d, h, mi, s, frac = m.groups()
            return datetime(_two_digit_year(int(y)), int(mo), int(d), int(h), int(mi), int(s),
                            _frac_to_us(frac))
        m = _RE_CTIME.fullmatch(text)
        if m:
            mon, d, h, mi, s, frac, y = m.groups()
            return datetime(int(y), _month(mon), int(d), int(h), int(mi), int(s),
                            _frac_to_us(frac))
        m = _RE_SYSLOG.fullmatch(text)
        if m:
            mon, d, h, mi, s, frac = m.groups()
            year = datetime.now(UTC).year
            return datetime(year, _month(mon), int(d), int(h), int(mi), int(s),
                            _frac_to_us(frac))
        m = _RE_CLF.fullmatch(text)
        if m:
            d, mon, y, h, mi, s, sign, oh, om = m.groups()
            offset = timedelta(hours=int(oh), minutes=int(om))
            tz = timezone(-offset if sign == "-" else offset)
            return datetime(int(y), _month(mon), int(d), int(h), int(mi), int(s), tzinfo=tz)
        if _RE_RFC2822.fullmatch(text):
            return parsedate_to_datetime(text)
        m = _RE_ZONE_WORD.fullmatch(text)
        if m:
            dt = _fromiso(m.group(1))
            return dt.replace(tzinfo=UTC) if dt.tzinfo is None else None
    except TimestampError:
        raise
    except (ValueError, OverflowError, TypeError, IndexError):
        return None
    return None
