"""CSV with a header row (generic exports and loghub ``*_structured.csv``).

Columns are found by name, in any order, case-insensitively:

* timestamp: ``timestamp``/``ts``/``@timestamp``/``datetime``/``date_time``/
  ``event_time``; else ``Date`` + ``Time`` joined with a space; else ``Time``
  alone (loghub Apache) or ``Date`` alone;
* level: ``level``/``severity``/``levelname``/``lvl``/``loglevel``/``log_level``;
* message: ``message``/``msg``/``content`` (loghub)/``text``;
* service (optional): ``service``/``service_name``/``app``/``application``/
  ``logger_name``/``logger``. loghub's ``Component`` is a class name, not a
  service: it stays in attrs and the default service is used;
* is_anomaly (optional): ``is_anomaly``/``anomaly``.

Every other column (LineId, Component, EventId, EventTemplate, ...) goes to
``attrs`` under its header name (string values). Fields beyond the header go
to ``attrs["extra_1"]``, ``attrs["extra_2"]``, ... (more than
MAX_EXTRA_FIELDS of them make the row an error). A row with fewer fields than
the header is an error ("missing column 'message' ..." / "too few fields").
The header row itself is not a record. A header lacking a required column
(timestamp, level, message) or that cannot be read makes every row an error
record naming the problem. The delimiter (``,`` tab ``;`` ``|``) is chosen
from the header.

Quoted fields may contain newlines: such a record spans several physical lines
and its ``line`` is the first one. A quote that is never closed (end of file,
or the record would exceed the size limit) makes only the opening line an
error record ("unterminated quoted field"); the lines after it are re-read as
rows of their own, so one stray quote cannot swallow the rest of the file.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass

from logintel.sources.fields import (
    anomaly_field,
    decode,
    level_field,
    message_field,
    service_field,
    timestamp_field,
)
from logintel.sources.reader import BadLine
from logintel.sources.record import Record, bad_record

TS_NAMES = ("timestamp", "ts", "@timestamp", "datetime", "date_time", "event_time")
LEVEL_NAMES = ("level", "severity", "levelname", "lvl", "loglevel", "log_level")
MESSAGE_NAMES = ("message", "msg", "content", "text")
SERVICE_NAMES = ("service", "service_name", "app", "application", "logger_name", "logger")
ANOMALY_NAMES = ("is_anomaly", "anomaly")
DELIMITERS = (",", "\t", ";", "|")
MAX_EXTRA_FIELDS = 100  # beyond that the row is not "a few extra fields" but garbage

_EOF = (0, None)  # sentinel item of the pushback line stream


def _find(lower: list[str], names: tuple[str, ...]) -> int | None:
    for name in names:
        if name in lower:
            return lower.index(name)
    return None


def _clean_name(name: str) -> str:
    return name.strip().lstrip("\ufeff").strip()


@dataclass(slots=True)
class Layout:
    """Where each field lives in a row, worked out once from the header."""

    ncols: int
    ts: int | None
    date: int | None  # with time: timestamp = date + " " + time
    time: int | None
    level: int | None
    message: int | None
    service: int | None
    anomaly: int | None
    attrs: list[tuple[str, int]]
    header_error: str | None

    @classmethod
    def from_header(cls, header: list[str]) -> "Layout":
        names = [_clean_name(h) for h in header]
        lower = [n.lower() for n in names]
        ts = _find(lower, TS_NAMES)
        date = time = None
        if ts is None:
            date, time = _find(lower, ("date",)), _find(lower, ("time",))
            if date is None or time is None:
                ts = time if time is not None else date
                date = time = None
        level = _find(lower, LEVEL_NAMES)
        message = _find(lower, MESSAGE_NAMES)
        service = _find(lower, SERVICE_NAMES)
        anomaly = _find(lower, ANOMALY_NAMES)
        used = {i for i in (ts, date, time, level, message, service, anomaly) if i is not None}
        attrs: list[tuple[str, int]] = []
        seen: set[str] = set()
        for i, name in enumerate(names):
            if i in used:
                continue
            key = name or f"column_{i + 1}"
            if key in seen:  # duplicate header names must not overwrite each other
                key = f"{key}_{i + 1}"
            seen.add(key)
            attrs.append((key, i))
        missing = [
            label
            for label, idx in (("timestamp", ts if date is None else date),
                               ("level", level), ("message", message))
            if idx is None
        ]
        header_error = None
        if missing:
            plural = "s" if len(missing) > 1 else ""
            header_error = (
                f"missing column{plural} {', '.join(repr(m) for m in missing)} in CSV header"
            )
        return cls(len(names), ts, date, time, level, message, service, anomaly, attrs,
                   header_error)

    @classmethod
    def unreadable(cls) -> "Layout":
        """Header we could not read: every row becomes an error record."""
        return cls(0, None, None, None, None, None, None, None, [], "unreadable CSV header")

    def required_names(self) -> list[tuple[str, int]]:
        """(canonical name, index) of every column a row needs, by position."""
        cols = [("level", self.level), ("message", self.message)]
        if self.date is not None:
            cols += [("timestamp", self.date), ("timestamp", self.time)]
        else:
            cols.append(("timestamp", self.ts))
        return sorted(((n, i) for n, i in cols if i is not None), key=lambda c: c[1])


def header_score(fields: list[str]) -> int:
    """How many known column names a candidate header has (for sniffing)."""
    lower = {_clean_name(f).lower() for f in fields}
    score = 0
    for names in (TS_NAMES + ("date", "time"), LEVEL_NAMES, MESSAGE_NAMES):
        if lower.intersection(names):
            score += 1
    return score


def _split_header(line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:  # e.g. a field over the csv module's size limit
        return []


def looks_like_csv_header(line: str) -> bool:
    """True when some delimiter splits the line into a header with a message
    column and a timestamp or level column."""
    for d in DELIMITERS:
        if d not in line:
            continue
        fields = _split_header(line, d)
        lower = [_clean_name(f).lower() for f in fields]
        if _find(lower, MESSAGE_NAMES) is not None and header_score(fields) >= 2:
            return True
    return False


def _pick_delimiter(line: str) -> str:
    best, best_score = ",", -1
    for d in DELIMITERS:
        if d not in line:
            continue
        score = header_score(_split_header(line, d))
        if score > best_score:
            best, best_score = d, score
    return best


class _RowReader:
    """Turns the physical line stream into logical CSV rows.

    Rows without a quote are split with ``str.split`` (fast path); rows with a
    quote go through the csv module, which pulls continuation lines itself.
    """

    def __init__(self, lines: Iterator[tuple[int, bytes]], limit: int) -> None:
        self.back: list[tuple[int, bytes]] = []  # pushed-back lines, next one last
        self.limit = limit
        self.delimiter = ","
        self.stream = self._stream(lines)

    def _stream(self, lines: Iterator[tuple[int, bytes]]) -> Iterator[tuple[int, bytes | None]]:
        back = self.back
        for item in lines:
            while back:
                yield back.pop()
            yield item
        while True:  # never finishes, so pushed-back lines can still be served
            while back:
                yield back.pop()
            yield _EOF  # type: ignore[misc]

    def rows(self) -> Iterator[tuple[int, bytes, list[str] | None, str | None]]:
        """Yield (first line number, raw, fields or None, problem or None)."""
        stream = self.stream
        for lineno, raw in stream:
            if raw is None:
                return
            if raw.__class__ is BadLine:
                yield lineno, raw, None, raw.reason  # type: ignore[attr-defined]
                continue
            if not raw or raw.isspace():
                continue
            text, problem = decode(raw)
            if '"' not in text:
                yield lineno, raw, text.split(self.delimiter), problem
            else:
                yield self._quoted(lineno, raw, text, problem)

    def _quoted(
        self, lineno: int, raw: bytes, text: str, problem: str | None
    ) -> tuple[int, bytes, list[str] | None, str | None]:
        feed = _Feed(self, raw, text)
        try:
            row: list[str] | None = next(csv.reader(feed, delimiter=self.delimiter))
        except csv.Error as exc:
            row, problem = None, problem or f"malformed CSV: {exc}"
        if feed.starved:
            # The quote never closed: blame the opening line only and re-read
            # the lines the csv module swallowed as rows of their own.
            self.back.extend(reversed(feed.extra))
            reason = "unterminated quoted field"
            if feed.starved == "limit":
                reason += f" (record would exceed {self.limit} bytes)"
            return lineno, raw, None, reason
        if feed.extra:
            raw = b"\n".join([raw, *(r for _, r in feed.extra)])
        return lineno, raw, row, problem or feed.problem


class _Feed:
    """Line source for csv.reader: the opening line, then continuation lines
    pulled from the shared stream (tracked so they can be pushed back)."""

    __slots__ = ("rows", "first", "extra", "size", "starved", "problem")

    def __init__(self, rows: _RowReader, raw: bytes, text: str) -> None:
        self.rows = rows
        self.first: str | None = text + "\n"  # csv needs the newline to keep it in a field
        self.extra: list[tuple[int, bytes]] = []
        self.size = len(raw)
        self.starved: str | None = None
        self.problem: str | None = None

    def __iter__(self) -> "_Feed":
        return self

    def __next__(self) -> str:
        if self.first is not None:
            text, self.first = self.first, None
            return text
        item = next(self.rows.stream)
        lineno, raw = item
        if raw is None or raw.__class__ is BadLine or self.size + 1 + len(raw) > self.rows.limit:
            self.rows.back.append(item)  # type: ignore[arg-type]
            self.starved = "limit" if raw is not None and raw.__class__ is bytes else "eof"
            raise StopIteration
        text, problem = decode(raw, self.size + 1)
        self.size += 1 + len(raw)
        self.extra.append(item)  # type: ignore[arg-type]
        if problem and not self.problem:
            self.problem = problem
        return text + "\n"


def parse_csv(
    lines: Iterator[tuple[int, bytes]], default_service: str | None, limit: int
) -> Iterator[Record]:
    # Let a field be as long as a whole record may be; our own limit applies first.
    csv.field_size_limit(max(csv.field_size_limit(), limit + 1))
    rows = _RowReader(lines, limit)
    stream = rows.stream
    # The header: first non-blank line; its delimiter decides the dialect.
    layout: Layout | None = None
    for lineno, raw in stream:
        if raw is None:
            return
        if raw.__class__ is BadLine:
            reason = raw.reason  # type: ignore[attr-defined]
            yield bad_record(lineno, raw, f"unreadable CSV header: {reason}")
            if raw.fatal:  # type: ignore[attr-defined]
                return
            layout = Layout.unreadable()
            break
        if not raw or raw.isspace():
            continue
        text, problem = decode(raw)
        if problem:
            yield bad_record(lineno, raw, f"unreadable CSV header: {problem}")
            layout = Layout.unreadable()
            break
        rows.delimiter = _pick_delimiter(text)
        rows.back.append((lineno, raw))
        break
    header_rows = rows.rows()
    if layout is None:
        for lineno, raw, header, problem in header_rows:
            if header is None or problem:  # e.g. an unterminated quote in the header
                yield bad_record(lineno, raw, f"unreadable CSV header: {problem}")
                layout = Layout.unreadable()
            else:
                layout = Layout.from_header(header)
            break
        else:
            return
    yield from _records(header_rows, layout, default_service)


def _records(
    rows: Iterator[tuple[int, bytes, list[str] | None, str | None]],
    layout: Layout,
    default_service: str | None,
) -> Iterator[Record]:
    ncols = layout.ncols
    i_ts, i_date, i_time = layout.ts, layout.date, layout.time
    i_level, i_msg, i_svc, i_anom = layout.level, layout.message, layout.service, layout.anomaly
    attr_cols = layout.attrs
    header_error = layout.header_error
    required = layout.required_names()
    for lineno, raw, row, problem in rows:
        if row is None or problem:
            yield bad_record(lineno, raw, problem or "malformed CSV row")
            continue
        errors: list[str] = []
        n = len(row)
        if header_error:
            errors.append(header_error)
        if n != ncols:
            if n < ncols:
                missing = [name for name, idx in required if idx >= n]
                if missing:
                    errors.append(f"missing column {missing[0]!r} (row has {n} of {ncols} fields)")
                else:
                    errors.append(f"too few fields ({n} of {ncols})")
                row = row + [None] * (ncols - n)  # type: ignore[list-item]
        if header_error:
            # No point parsing fields of a file we cannot interpret; keep them visible.
            attrs = {key: row[i] for key, i in attr_cols}
            yield Record(lineno, raw, None, None, None, default_service, None, attrs,
                         "; ".join(errors))
            continue
        if i_date is not None:
            d, t = row[i_date], row[i_time]  # type: ignore[index]
            ts_value = f"{d} {t}" if d and t else (d or t)
        else:
            ts_value = row[i_ts]  # type: ignore[index]
        if errors:  # a missing column already explains the row; skip field errors
            field_errors: list[str] = []
        else:
            field_errors = errors
        ts = timestamp_field(ts_value, field_errors)
        level = level_field(row[i_level], field_errors)  # type: ignore[index]
        message = message_field(row[i_msg], field_errors)  # type: ignore[index]
        service = (
            service_field(row[i_svc], default_service, field_errors)
            if i_svc is not None else default_service
        )
        anomaly = anomaly_field(row[i_anom], field_errors) if i_anom is not None else None
        attrs = {key: row[i] for key, i in attr_cols}
        if n > ncols:
            if n - ncols > MAX_EXTRA_FIELDS:
                errors.append(f"too many fields ({n} for a {ncols}-column header)")
            else:
                for k, extra in enumerate(row[ncols:], 1):
                    attrs[f"extra_{k}"] = extra
        yield Record(lineno, raw, ts, level, message, service, anomaly, attrs,
                     "; ".join(errors) if errors else None)
