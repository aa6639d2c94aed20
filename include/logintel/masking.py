"""Message templates: mask the variable parts of a log message.

``template_key(message)`` turns a raw message into a *template key*: ids,
numbers, IP addresses (v4 and v6, with ports), hex strings, UUIDs, file paths,
URLs, e-mail addresses, short quoted values and values with units
(``3200ms``, ``12.5MB``) become ``<*>``; whitespace is collapsed and the key is
capped at :data:`MAX_KEY_LEN` characters.  Lines written by the same logging
call site get the same key, which is what the template-consistency rules in
:mod:`logintel.verdicts` and the level model in :mod:`logintel.ml` group by.

Design
------
* Masking works word by word (``str.split``) with a cache of masked words:
  most words of log messages are constant text, so only new words go through
  the one compiled regular expression (alternation, fixed replacement).  A
  second, cheap pass collapses runs of masks (``<*>:<*>`` for ``host:port``,
  ``<*>, <*>`` for lists, ``<*> MB`` for sizes) into one ``<*>`` so that lists
  of varying length still share a key.
* Identifier-like words keep a lower-case alphabetic prefix: ``blk_-69522958``
  becomes ``blk_<*>``, ``attempt_1445_0020_m_01`` becomes ``attempt_<*>`` and
  ``req-38101a0b-...`` becomes ``req-<*>``; the prefix carries meaning for the
  level model and separates call sites.  Upper-case prefixes (host names such
  as ``MININT-FNANLI5``) are masked whole.
* Any other word that contains a digit is masked as a whole (``3200ms``,
  ``v1.2.3``), the usual pre-processing of log parsers.
* HTTP status codes keep their class (``<2xx>``, ``<4xx>``, ``<5xx>``) when the
  context says they are a status (after a request path / URL / ``HTTP/1.1"``,
  after ``status`` / ``status_code`` / ``response``, or as ``status=503``):
  ``GET /x 200`` (INFO) and ``GET /x 503`` (ERROR) are different call sites.
* Double-quoted values are masked even with spaces (``"running shoes"``),
  except quoted HTTP request lines (``"GET /v2/... HTTP/1.1"``).
* :class:`TemplateMasker` caches keys by raw message in a bounded dict (cleared
  when full: cheaper than LRU bookkeeping and just as good for log streams,
  whose repeats are bursty).
* The joined masked words of a message are few per template, so the two
  message-wide collapse passes are cached by them too (``_COLLAPSED``): on
  messages that never repeat (93 % of the synthetic ones) that made masking
  1.6x faster, with every key unchanged on the synthetic logs and the loghub
  samples.
* Masking runs once per message in the product's life: ingest and extract mask
  as they load, the template catalog (:mod:`logintel.template_catalog`) keeps
  each key with an id, and :data:`MASKER_VERSION` names the rules' version.

Measured (bench/detect_research.py --masker, one core): purity (share of lines
whose key maps to one ground-truth EventId) 1.000 on the loghub HDFS, Hadoop,
Zookeeper, OpenStack and Apache samples, 0.999 on Spark; keys vs events
14/14, 124/114, 57/50, 45/43, 6/6, 36/36.  Speed on ~75-char messages: about
140k msg/s with cold caches, 390k msg/s at an 80 % message-cache hit rate,
1.4M msg/s at 95 %.  A Drain-style miner was not built: masking is already
pure, and the few split events (e.g. one key per ``Server environment:x=y``)
only lower support, they never mix levels.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence

__all__ = ["MASK", "MAX_KEY_LEN", "MASKER_VERSION", "template_key", "TemplateMasker", "thread_masker"]

MASK = "<*>"
MAX_KEY_LEN = 300
# Raise when a change to the rules changes any key: the catalog keeps keys per version, and
# `logintel templates --retemplate` moves the stored logs to the new one.
MASKER_VERSION = 1

_HEX = r"[0-9A-Fa-f]"

# Order matters: the regex engine tries alternatives left to right at each
# position, so the most specific / longest forms come first.
_PATTERNS = [
    # URLs (scheme://...)
    r"\b[A-Za-z][A-Za-z0-9+.\-]{1,15}://[^\s\"'<>]+",
    # e-mail addresses
    r"\b[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+\b",
    # UUIDs
    rf"\b{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}\b",
    # IPv4 with optional port
    r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?(?![\w.])",
    # IPv6 (full or :: compressed forms, at least two colons, at least one hex digit
    # group); also swallows clock times like 12:34:56, which are variable anyway
    rf"(?<![\w:])(?:{_HEX}{{1,4}}:){{2,7}}{_HEX}{{1,4}}(?![\w:])",
    rf"(?<![\w:])(?:{_HEX}{{0,4}}:){{1,7}}:(?:{_HEX}{{1,4}}(?::{_HEX}{{1,4}}){{0,6}})?(?![\w:])",
    # Unix paths with at least two components (/etc/httpd/conf/x.properties,
    # /user/root/part-0001) and Windows paths (C:\dir\file)
    r"(?<![\w/])(?:/[\w.\-$@~+%=]+){2,}/?(?:\?[^\s\"\']*)?",
    r"\b[A-Za-z]:\\[^\s\"']+",
    # relative paths with at least three components (user-uploads/2024/x.png)
    r"(?<![\w/.])[\w.\-]+(?:/[\w.\-]+){2,}/?",
    # hex numbers: 0x..., or bare hex runs of 8+ chars that contain a digit
    rf"\b0[xX]{_HEX}+\b",
    rf"\b(?=[A-Fa-f]*\d){_HEX}{{8,}}\b",
    # short quoted values without whitespace: user 'bob', key="abc-1"
    r"'[^'\s]{1,64}'",
    r'"[^"\s]{1,64}"',
    # sizes and durations with a separate unit word: "12.5 MB", "3 seconds"
    r"(?<![\w.\-])[-+]?\d+(?:\.\d+)?\s?(?:[KMGTPkmgtp]i?[Bb]|B|bytes?|ms|us|ns|secs?|seconds?|mins?|minutes?|hours?|days?)\b",
    # identifier with a lower-case alphabetic prefix: keep the prefix
    # (blk_<*>, attempt_<*>, req-<*>); upper-case prefixes are usually host names
    r"(?<=[a-z]{2}[_\-])-?(?=[\w\-.]*\d)[\w\-.]+",
    # numbers (signed, decimal, exponent) and anything word-like containing a
    # digit (3200ms, 12.5MB, v1.2, MININT-FNANLI5)
    r"(?<![A-Za-z_\-])[-+]?\.?\d[\w.\-]*",
    r"\b[A-Za-z]+\d[\w.\-]*",
    r"\b[A-Z][A-Z0-9]*[_\-][\w\-]*\d[\w.\-]*",
]

_MASK_RE = re.compile("|".join(f"(?:{p})" for p in _PATTERNS))
_mask_sub = _MASK_RE.sub
# runs of masks separated only by punctuation/space collapse to one mask
# ("<*>:<*>", "<*>, <*>"); a unit word after a mask belongs to the value
# ("<*> MB", "<*> seconds")
_UNITS = r"(?:[KMGTPkmgtp]i?[Bb]|B|bytes?|ms|us|ns|secs?|seconds?|mins?|minutes?|hours?|days?)\b"
_RUN_RE = re.compile(r"<\*>(?:(?:[\s,:;/.#=\-]*<\*>)|(?:\s" + _UNITS + r"))+")
# repeated identical masked words ("blk_<*> blk_<*> blk_<*>") collapse to one
_REPEAT_RE = re.compile(r"(\b[\w\-]*<\*>)(?:[\s,;]+\1)+")

# Token cache shared by template_key(): most words of log messages repeat
# (constant text), so masking word by word with a cache is ~5x faster than one
# regex pass over the whole message.  Bounded: cleared when full.
_TOKEN_CACHE: dict[str, str] = {}
_TOKEN_CACHE_MAX = 200_000


def _mask_token(tok: str) -> str:
    if tok.isdigit():
        k = MASK
    else:
        k = _mask_sub(MASK, tok)
        if "<*>" in k and len(k) > 3:
            k = _RUN_RE.sub(MASK, k)
    if len(_TOKEN_CACHE) >= _TOKEN_CACHE_MAX:
        _TOKEN_CACHE.clear()
    _TOKEN_CACHE[tok] = k
    return k


# HTTP status codes carry the level of a request line (2xx INFO, 4xx WARN, 5xx
# ERROR), so they are kept as their class (<2xx>, <4xx>, <5xx>) when the context
# says they are a status: after a request path / URL / 'HTTP/1.1"', or after
# status / status_code / response, or as status=503 (not after "returned" or
# "exit code": those are counts and exit codes).
_STATUS_HINT = re.compile(r"[\s:=][1-5]\d\d(?![\w.])").finditer
_HAS_STATUS = re.compile(r"[\s:=][1-5]\d\d(?![\w.])").search
_STATUS_WORDS = frozenset(("status", "status:", "status=", "status_code", "status_code:", "status_code=",
                           "response", "response:", "response="))


def _status_classes(message: str, masked: list[str]) -> None:
    """Replace masked HTTP status tokens by their class, in place."""
    for m in _STATUS_HINT(message):
        pos = m.start()
        code = message[pos + 1: pos + 4]
        if message[pos] in ":=":
            head = message[:pos + 1].split()
            if not head:
                continue
            word = head[-1].lower()
            if not word.endswith(("status:", "status=", "status_code:", "status_code=")):
                continue
            idx = len(head) - 1
        else:
            head = message[:pos + 1].split()
            if not head:
                continue
            prev = head[-1]
            low = prev.lower()
            if not (prev[0] == "/" or low.startswith("http") or low in _STATUS_WORDS
                    or ("http/" in low and prev.endswith('"'))):
                continue
            idx = len(head)
        if idx < len(masked):
            tok = masked[idx]
            at = tok.find(MASK)
            if at >= 0:
                masked[idx] = tok[:at] + f"<{code[0]}xx>" + tok[at + 3:]


# double-quoted values that may contain spaces ("running shoes"), except quoted HTTP
# request lines ("GET /x HTTP/1.1"), whose method separates call sites
_QUOTED_SUB = re.compile(
    r'(?<![\w"])"(?!(?:GET|POST|PUT|DELETE|PATCH|HEAD|OPTIONS|CONNECT|TRACE) )[^"\n]{1,80}"(?![\w"])').sub


def template_key(message: str) -> str:
    """Return the template key of one raw log message (see module docstring).

    >>> template_key("Connection to 10.0.0.5:5432 failed after 3200ms")
    'Connection to <*> failed after <*>'
    """
    if not message:
        return ""
    if '"' in message:
        message = _QUOTED_SUB(MASK, message)
    get = _TOKEN_CACHE.get
    masked = [get(t) or _mask_token(t) for t in message.split()]
    if _HAS_STATUS(message) is not None:
        _status_classes(message, masked)
    joined = " ".join(masked)
    key = _COLLAPSED.get(joined)
    if key is None:
        key = _collapse(joined)
    return key


# The masked words of a message joined, before the runs collapse -> its key: few distinct per
# template, so the two message-wide passes of _collapse run about once per template, not per line.
_COLLAPSED: dict[str, str] = {}


def _collapse(s: str) -> str:
    joined = s
    if "<*> " in s or "<*>," in s:
        s = _RUN_RE.sub(MASK, s)
        if "<*> " in s or "<*>," in s:
            s = _REPEAT_RE.sub(r"\1", s)
    if len(s) > MAX_KEY_LEN:
        s = s[:MAX_KEY_LEN]
    if len(_COLLAPSED) >= _TOKEN_CACHE_MAX:
        _COLLAPSED.clear()
    _COLLAPSED[joined] = s
    return s


class TemplateMasker:
    """Template keys with a bounded cache keyed by raw message.

    ``maxsize`` bounds memory (about 0.3 KB per entry for ~80-char messages);
    when the cache is full it is cleared and refilled, which costs nothing per
    lookup (no LRU bookkeeping) and keeps hot messages warm in log streams.
    Not thread-safe for writes (use one masker per thread/process).
    """

    __slots__ = ("maxsize", "_cache", "hits", "misses")

    def __init__(self, maxsize: int = 200_000) -> None:
        self.maxsize = int(maxsize)
        self._cache: dict[str, str] = {}
        self.hits = 0
        self.misses = 0

    def key(self, message: str) -> str:
        k = self._cache.get(message)
        if k is None:
            self.misses += 1
            k = template_key(message)
            if len(self._cache) >= self.maxsize:
                self._cache.clear()
            self._cache[message] = k
        else:
            self.hits += 1
        return k

    __call__ = key

    def keys(self, messages: Sequence[str] | Iterable[str]) -> list[str]:
        """Template keys for many messages (order preserved; None -> "")."""
        cache = self._cache
        get = cache.get
        out: list[str] = []
        append = out.append
        misses = 0
        n = 0
        maxsize = self.maxsize
        for m in messages:
            n += 1
            k = get(m)
            if k is None:
                if m is None or m != m:  # None or NaN
                    append("")
                    continue
                misses += 1
                k = template_key(m)
                if len(cache) >= maxsize:
                    cache.clear()
                cache[m] = k
            append(k)
        self.misses += misses
        self.hits += n - misses
        return out

    def clear(self) -> None:
        self._cache.clear()
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._cache)


_PER_THREAD = threading.local()


def thread_masker() -> TemplateMasker:
    """This thread's masker, shared by every caller in the thread (ingest's staging, extract's
    reader, the fallback for logs stored without a template id): one message cache per thread,
    since a masker's cache is not safe to write from two threads."""
    masker = getattr(_PER_THREAD, "masker", None)
    if masker is None:
        masker = _PER_THREAD.masker = TemplateMasker()
    return masker
