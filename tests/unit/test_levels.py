"""Unit tests for logintel.levels."""

from __future__ import annotations

import pytest

from logintel import levels
from logintel.levels import LEVEL_RANK, LEVELS, normalise_level


def test_levels_and_ranks_are_consistent() -> None:
    assert LEVELS == ("DEBUG", "INFO", "WARN", "ERROR", "FATAL")
    assert LEVEL_RANK == {"DEBUG": 0, "INFO": 1, "WARN": 2, "ERROR": 3, "FATAL": 4}
    assert sorted(LEVELS, key=LEVEL_RANK.__getitem__) == list(LEVELS)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        *[(s, "WARN") for s in ("WARNING", "WARN", "W", "warning", "Warn", "w")],
        *[(s, "INFO") for s in ("notice", "NOTICE", "INFO", "I", "informational", "info", "Info")],
        *[
            (s, "DEBUG")
            for s in ("DEBUG", "D", "TRACE", "T", "V", "VERBOSE", "FINE", "FINER", "FINEST",
                      "CONFIG", "debug", "trace", "trace5")
        ],
        *[(s, "ERROR") for s in ("ERROR", "ERR", "E", "SEVERE", "error", "err", "severe")],
        *[
            (s, "FATAL")
            for s in ("FATAL", "F", "CRITICAL", "CRIT", "EMERG", "EMERGENCY", "ALERT", "PANIC",
                      "critical", "emerg", "panic")
        ],
    ],
)
def test_known_spellings(raw: str, expected: str) -> None:
    assert normalise_level(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" INFO ", "INFO"),
        ("\tinfo\n", "INFO"),
        ("[WARN]", "WARN"),
        ("[ warning ]", "WARN"),
        ("<error>", "ERROR"),
        ("(debug)", "DEBUG"),
        ("INFO ", "INFO"),  # log4j %-5p padding
    ],
)
def test_whitespace_and_brackets_are_ignored(raw: str, expected: str) -> None:
    assert normalise_level(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["LOUD", "", "   ", "[]", "INFOO", "WARNINGS", "0", "3", "7", "level", "I N F O", "\x00INFO",
     "x" * 10_000],
)
def test_unknown_spellings_are_none(raw: str) -> None:
    # Syslog numeric severities are the syslog parser's business, not ours.
    assert normalise_level(raw) is None


def test_none_and_non_strings_are_none() -> None:
    assert normalise_level(None) is None
    assert normalise_level(3) is None  # type: ignore[arg-type]
    assert normalise_level(["INFO"]) is None  # type: ignore[arg-type]


def test_every_result_is_a_canonical_level() -> None:
    for spelling in levels._CANONICAL:
        assert normalise_level(spelling) in LEVELS
        assert normalise_level(spelling.lower()) in LEVELS


def test_cache_is_bounded_against_hostile_input() -> None:
    for i in range(levels.CACHE_MAX + 2_000):
        normalise_level(f"junk-{i}")
    assert len(levels.LEVEL_CACHE) <= levels.CACHE_MAX
    # known spellings still answer correctly once the cache is full
    assert normalise_level("  Warning ") == "WARN"
    assert normalise_level("junk-1") is None
