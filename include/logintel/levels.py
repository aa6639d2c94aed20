"""Canonical log levels and the mapping of the many spellings found in the wild.

Every source parser funnels its raw level text through :func:`normalise_level`,
so this is on the hot path: one dict lookup for spellings seen before.
Syslog numeric severities (0-7) are NOT handled here - only the syslog parser
knows a number is a severity (elsewhere "3" is just garbage).
"""

from __future__ import annotations

from .vocab import LEVEL_RANK, LEVELS  # noqa: F401  (re-exported: parsers import them from here)

_SPELLINGS: dict[str, tuple[str, ...]] = {
    "DEBUG": (
        "DEBUG", "D", "DBG", "TRACE", "T", "TRC", "V", "VERBOSE", "VRB",
        "FINE", "FINER", "FINEST", "CONFIG",
        # Apache httpd 2.4 has trace1..trace8
        "TRACE1", "TRACE2", "TRACE3", "TRACE4", "TRACE5", "TRACE6", "TRACE7", "TRACE8",
    ),
    "INFO": ("INFO", "I", "INF", "NOTICE", "INFORMATIONAL", "INFORMATION"),
    "WARN": ("WARN", "WARNING", "W", "WRN"),
    "ERROR": ("ERROR", "ERR", "E", "SEVERE"),
    "FATAL": ("FATAL", "F", "FTL", "CRITICAL", "CRIT", "EMERG", "EMERGENCY", "ALERT", "PANIC"),
}

# upper-cased spelling -> canonical level
_CANONICAL: dict[str, str] = {
    spelling: level for level, spellings in _SPELLINGS.items() for spelling in spellings
}

# Raw string exactly as seen -> result. Seeded with the common spellings so the
# usual case is a single lookup; bounded so hostile input cannot grow it forever.
# Hot loops may read it directly (a hit is the answer; on a miss or None call
# normalise_level); never write to it from outside this module.
LEVEL_CACHE: dict[str, str | None] = {}
for _spelling, _level in _CANONICAL.items():
    LEVEL_CACHE[_spelling] = _level
    LEVEL_CACHE[_spelling.lower()] = _level
    LEVEL_CACHE[_spelling.capitalize()] = _level
CACHE_MAX = 4096
_STRIP_CHARS = " \t\r\n\f\v[]()<>{}"


def normalise_level(raw: str | None) -> str | None:
    """Map a raw level spelling to one of LEVELS, or None when unknown.

    Case-insensitive; surrounding whitespace and brackets are ignored
    ("[warning] " -> "WARN").
    """
    if raw is None:
        return None
    try:
        return LEVEL_CACHE[raw]
    except KeyError:
        pass
    except TypeError:  # unhashable junk handed in by a caller
        return None
    if not isinstance(raw, str):
        return None
    result = _CANONICAL.get(raw.strip(_STRIP_CHARS).upper())
    if len(LEVEL_CACHE) < CACHE_MAX and len(raw) <= 64:
        LEVEL_CACHE[raw] = result
    return result
