"""Line-oriented text logs: Python logging, log4j, syslog (RFC 3164/5424), Apache error log.

Each format is a list of "record start" patterns. A line that matches none of
them continues the previous record (Java stack traces, Python tracebacks,
wrapped messages): it is appended to that record's message and raw, joined
with "\\n", and the record keeps the number of its first line. Blank lines
between continuation lines are kept; blank lines before the next record start
are dropped. A non-matching line with no record before it becomes an error
record of its own.

The start patterns are deliberately loose about the timestamp and level
(e.g. any ``dddd-dd-dd dd:dd:dd``, any word as level), so that a damaged line
becomes an error record ("unparseable timestamp ...", "unknown level ...")
instead of silently merging into the record before it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime

from logintel.levels import normalise_level
from logintel.sources.fields import decode, level_field, message_field, timestamp_field
from logintel.sources.reader import BadLine, keep_bytes, too_long_reason
from logintel.sources.record import Record, bad_record

# (ts, level, message, service, attrs) filled by a builder; errors appended to the list
Fields = tuple[datetime | None, str | None, str | None, str | None, dict]
Builder = Callable[["re.Match[str]", str | None, list[str]], Fields]

_TS_ISO = r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?"

# -- Python logging ---------------------------------------------------------

# "%(asctime)s - %(name)s - %(levelname)s - %(message)s"
RE_PYTHON = re.compile(
    rf"(?P<ts>{_TS_ISO}) - (?P<name>.*?) - (?P<level>[A-Za-z]+) -(?: (?P<msg>.*))?", re.S
)
# basicConfig default "%(levelname)s:%(name)s:%(message)s" (no timestamp at all)
RE_PYTHON_BASIC = re.compile(
    r"(?P<level>DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL|NOTSET):(?P<name>[^:\s]*):(?P<msg>.*)",
    re.S,
)


def _build_python(m: re.Match[str], default_service: str | None, errors: list[str]) -> Fields:
    ts = timestamp_field(m["ts"], errors)
    level = level_field(m["level"], errors)
    message = m["msg"] or ""
    return ts, level, message, m["name"] or default_service, {}


def _build_python_basic(
    m: re.Match[str], default_service: str | None, errors: list[str]
) -> Fields:
    errors.append("missing timestamp")
    level = level_field(m["level"], errors)
    return None, level, m["msg"], m["name"] or default_service, {}


# -- log4j ------------------------------------------------------------------

# Layouts seen in the wild: "%d %-5p [%t] %c - %m", "%d [%t] %-5p %c - %m",
# "%d %p %c: %m", "%d [%p] %c - %m", "%d [%p] [%t] %c - %m", "%d %p: %m".
# The start pattern only needs a timestamp then a word or a [bracket]; the
# builder then works out which token is the level and which the thread.
RE_LOG4J = re.compile(rf"(?P<ts>{_TS_ISO})\s+(?P<rest>(?:\[[^\]]*\]|[A-Za-z]+).*)", re.S)
_RE_HEAD_TOKEN = re.compile(r"(?:\[(?P<bracket>[^\]]*)\]|(?P<word>[A-Za-z]+)):?(?:\s+|$)")
_RE_LOGGER = re.compile(r"(?P<logger>[^\s:\[\]]+?)(?::| -)(?: (?P<msg>.*)|$)", re.S)


def _split_log4j_head(rest: str) -> tuple[str | None, str | None, str]:
    """(level token, thread, remainder) from the text after the timestamp.

    Tokens are consumed while level or thread is still unknown: the first bare
    word is the level (known or not - an unknown one must be reported), a
    bracket holding a known level is the level, any other bracket the thread.
    """
    level = thread = first_bracket = None
    pos = 0
    while level is None or thread is None:
        m = _RE_HEAD_TOKEN.match(rest, pos)
        if m is None:
            break
        bracket, word = m["bracket"], m["word"]
        if word is not None:
            if level is not None:
                break  # a second bare word is the logger or the message
            level = word
        elif level is None and normalise_level(bracket) is not None:
            level = bracket
        else:
            if first_bracket is None:
                first_bracket = bracket
            if thread is not None:
                break
            thread = bracket
        pos = m.end()
    if level is None and first_bracket is not None:
        # "[LOUD] ..." - a bracket where the level belongs: report it as the level
        level, thread = first_bracket, None
    return level, thread, rest[pos:]


def _build_log4j(m: re.Match[str], default_service: str | None, errors: list[str]) -> Fields:
    ts = timestamp_field(m["ts"], errors)
    level_token, thread, rest = _split_log4j_head(m["rest"])
    level = level_field(level_token, errors)
    logger = None
    lm = _RE_LOGGER.match(rest)
    if lm:
        logger, message = lm["logger"], lm["msg"] or ""
    elif rest.startswith("- "):
        message = rest[2:]
    else:
        message = rest
    attrs = {"thread": thread} if thread is not None else {}
    return ts, level, message, logger or default_service, attrs


# -- syslog -----------------------------------------------------------------

# severity 0-7 -> level
SYSLOG_SEVERITY = ("FATAL", "FATAL", "FATAL", "ERROR", "WARN", "INFO", "INFO", "DEBUG")

RE_SYSLOG_5424 = re.compile(
    r"<(?P<pri>\d{1,3})>1 (?P<ts>\S+) (?P<host>\S+) (?P<app>\S+) (?P<procid>\S+) (?P<msgid>\S+)"
    r' (?P<sd>-|(?:\[(?:[^\]"]|"(?:[^"\\]|\\.)*")*\])+)(?: (?P<msg>.*))?',
    re.S,
)
RE_SYSLOG_3164 = re.compile(
    r"(?:<(?P<pri>\d{1,3})>)?"
    r"(?P<ts>[A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d(?:\.\d+)?|\d{4}-\d\d-\d\dT\S+)"
    r" (?P<host>\S+) (?:(?P<tag>[^\s\[\]:]+)(?:\[(?P<pid>[^\]]*)\])?: ?)?(?P<msg>.*)",
    re.S,
)
_RE_SD_ELEMENT = re.compile(r'\[([^\s\]]+)((?:\s+[^\s=\]]+="(?:[^"\\]|\\.)*")*)\s*\]')
_RE_SD_PARAM = re.compile(r'([^\s=\]]+)="((?:[^"\\]|\\.)*)"')
_RE_SD_UNESCAPE = re.compile(r"\\([\"\\\]])")


def _syslog_level(pri: str | None, errors: list[str], attrs: dict) -> str | None:
    if pri is None:
        errors.append("missing level (syslog line has no <PRI>)")
        return None
    value = int(pri)
    if value > 191:
        errors.append(f"invalid syslog PRI {value}")
        return None
    attrs["facility"] = value >> 3
    attrs["severity"] = value & 7
    return SYSLOG_SEVERITY[value & 7]


def _structured_data(sd: str) -> dict:
    result: dict = {}
    for sd_id, params in _RE_SD_ELEMENT.findall(sd):
        result[sd_id] = {
            k: _RE_SD_UNESCAPE.sub(r"\1", v) for k, v in _RE_SD_PARAM.findall(params)
        }
    return result


def _nil(value: str | None) -> str | None:
    return None if value == "-" else value


def _build_5424(m: re.Match[str], default_service: str | None, errors: list[str]) -> Fields:
    attrs: dict = {}
    ts_raw = _nil(m["ts"])
    ts = timestamp_field(ts_raw, errors)
    level = _syslog_level(m["pri"], errors, attrs)
    for key in ("host", "procid", "msgid"):
        value = _nil(m[key])
        if value is not None:
            attrs[key] = value
    sd = m["sd"]
    if sd != "-":
        attrs["structured_data"] = _structured_data(sd)
    message = m["msg"] or ""
    if message.startswith("\ufeff"):  # RFC 5424 allows a BOM before a UTF-8 MSG
        message = message[1:]
    return ts, level, message, _nil(m["app"]) or default_service, attrs


def _build_3164(m: re.Match[str], default_service: str | None, errors: list[str]) -> Fields:
    attrs: dict = {"host": m["host"]}
    ts = timestamp_field(m["ts"], errors)
    level = _syslog_level(m["pri"], errors, attrs)
    if m["pid"] is not None:
        attrs["pid"] = m["pid"]
    return ts, level, m["msg"], m["tag"] or default_service, attrs


# -- Apache error log -------------------------------------------------------

# 2.2: "[Sun Dec 04 04:47:44 2005] [error] msg"
# 2.4: "[Wed Oct 11 14:32:52.123456 2000] [core:error] [pid 123:tid 45] [client 1.2.3.4:5] msg"
RE_APACHE = re.compile(
    r"\[(?P<ts>[A-Za-z]{3} [A-Za-z]{3} +\d{1,2} [\d:.]+ \d{4})\]"
    r" \[(?:(?P<module>[^:\]\s]+):)?(?P<level>[^\]]*)\]"
    r"(?: \[pid (?P<pid>\d+)(?::tid (?P<tid>\d+))?\])?"
    r"(?: \[client (?P<client>[^\]]*)\])?"
    r" ?(?P<msg>.*)",
    re.S,
)


def _build_apache(m: re.Match[str], default_service: str | None, errors: list[str]) -> Fields:
    ts = timestamp_field(m["ts"], errors)
    level = level_field(m["level"], errors)
    attrs = {
        key: m[key] for key in ("module", "pid", "tid", "client") if m[key] is not None
    }
    return ts, level, m["msg"], default_service, attrs


# -- driver -----------------------------------------------------------------

STARTERS: dict[str, list[tuple[Callable[[str], re.Match[str] | None], Builder]]] = {
    "python": [(RE_PYTHON.match, _build_python), (RE_PYTHON_BASIC.match, _build_python_basic)],
    "log4j": [(RE_LOG4J.match, _build_log4j)],
    "syslog": [(RE_SYSLOG_5424.match, _build_5424), (RE_SYSLOG_3164.match, _build_3164)],
    "apache": [(RE_APACHE.match, _build_apache)],
}
TEXT_FORMATS = tuple(STARTERS)


def match_start(fmt: str, text: str) -> bool:
    """Does this line start a record in format ``fmt``? (used by detection)"""
    return any(match(text) for match, _ in STARTERS[fmt])


class _Pending:
    """A record being assembled from its start line and continuation lines."""

    __slots__ = ("line", "raws", "texts", "blank", "size", "match", "build", "problem")

    def __init__(
        self, line: int, raw: bytes, match: re.Match[str], build: Builder, problem: str | None
    ) -> None:
        self.line = line
        self.raws = [raw]
        self.texts: list[str] = []  # continuation texts (the first line is in match)
        self.blank: list[bytes] = []  # blank lines not yet known to be inside the record
        self.size = len(raw)
        self.match = match
        self.build = build
        self.problem = problem

    def add(self, raw: bytes, limit: int) -> None:
        for blank in self.blank:
            self._append(blank, limit)
        self.blank.clear()
        self._append(raw, limit)

    def _append(self, raw: bytes, limit: int) -> None:
        offset = self.size + 1
        self.size = offset + len(raw)
        if self.size > limit:  # too long: count the bytes, keep them (for quarantine) up to its hard limit
            if offset <= keep_bytes(limit):
                self.raws.append(raw)
            return
        text, problem = decode(raw, offset)
        if problem and not self.problem:
            self.problem = problem
        self.raws.append(raw)
        self.texts.append(text)

    def finish(self, default_service: str | None, limit: int) -> Record:
        raw = self.raws[0] if len(self.raws) == 1 else b"\n".join(self.raws)
        if self.size > limit:
            keep = keep_bytes(limit)
            return bad_record(self.line, raw[:keep], too_long_reason(self.size, limit, keep))
        if self.problem:
            return bad_record(self.line, raw, self.problem)
        errors: list[str] = []
        ts, level, message, service, attrs = self.build(self.match, default_service, errors)
        if self.texts:
            message = "\n".join([message or "", *self.texts])
        message = message_field(message, errors)
        return Record(self.line, raw, ts, level, message, service, None, attrs,
                      "; ".join(errors) if errors else None)


def parse_text(
    lines: Iterator[tuple[int, bytes]], fmt: str, default_service: str | None, limit: int
) -> Iterator[Record]:
    starters = STARTERS[fmt]
    pending: _Pending | None = None
    for lineno, raw in lines:
        if raw.__class__ is BadLine:
            if pending is not None:
                yield pending.finish(default_service, limit)
                pending = None
            yield bad_record(lineno, raw, raw.reason)  # type: ignore[attr-defined]
            continue
        if not raw or raw.isspace():
            if pending is not None:
                pending.blank.append(raw)
            continue
        text, problem = decode(raw)
        for match, build in starters:
            m = match(text)
            if m is not None:
                if pending is not None:
                    yield pending.finish(default_service, limit)
                pending = _Pending(lineno, raw, m, build, problem)
                break
        else:
            if pending is not None:
                pending.add(raw, limit)
            else:
                yield bad_record(lineno, raw, problem or f"line is not a {fmt} record start")
    if pending is not None:
        yield pending.finish(default_service, limit)


def parse_unknown(lines: Iterator[tuple[int, bytes]]) -> Iterator[Record]:
    """Format not recognised: every non-blank line is quarantined."""
    for lineno, raw in lines:
        if raw.__class__ is BadLine:
            yield bad_record(lineno, raw, raw.reason)  # type: ignore[attr-defined]
        elif raw and not raw.isspace():
            text, problem = decode(raw)
            yield bad_record(lineno, raw, problem or "unrecognised log format")
