"""The duration a log line reports ("took 350ms", "timed out after 2.5 s"), in milliseconds;
for a row of a table source, its duration column (``response_time_ms``, kept in ``attrs``) first.

Masking turns every duration into ``<*>``, so a template's lines look alike to the episode
verdicts whatever they report. A latency episode is exactly that difference: the same "slow
response" lines, at several times their usual durations. The scoring step keeps each line's
first duration (``ml_predictions.duration_ms``); the findings step compares it with the upper
end of the template's durations in the history (``sql/findings/store_duration_limits.sql``).
"""
from __future__ import annotations

import math
import re
import struct
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: ingest reads one message at a time and needs neither
    import numpy as np
    import pandas as pd

__all__ = ["DURATION_RE", "durations_ms", "line_durations_ms", "message_duration_ms"]

# a number directly followed by a time unit; the first such number of a line counts. ASCII classes
# only: the server runs the same expression for lines stored without their duration (the function
# logintel.message_duration_ms, migration 023), whose classes depend on the database's locale; a
# test holds the two equal.
DURATION_RE = re.compile(r"(?<![A-Za-z0-9_.])([0-9]+(?:\.[0-9]+)?)[ \t]?(ms|msec|s|sec|secs|seconds|us|µs|min)"
                         r"(?![A-Za-z0-9_])")
_UNIT_MS = {"ms": 1.0, "msec": 1.0, "s": 1000.0, "sec": 1000.0, "secs": 1000.0, "seconds": 1000.0,
            "us": 0.001, "µs": 0.001, "min": 60_000.0}


_search = DURATION_RE.search
_pack_float32 = struct.Struct("f").pack
_to_float32 = struct.Struct("f").unpack


def message_duration_ms(message: str) -> float:
    """The first duration of one message in milliseconds, NaN where there is none: what ingest
    stores with each line (``logs.message_duration_ms``; stored as real, it equals
    :func:`durations_ms`' float32)."""
    m = _search(message)
    if m is None:
        return math.nan
    # rounded to float32 here, as the server's float8 -> real cast does (a decimal string parsed
    # straight into real could round the other way on a tie)
    return _to_float32(_pack_float32(float(m[1]) * _UNIT_MS[m[2]]))[0]


def durations_ms(messages: pd.Series | list[str]) -> np.ndarray:
    """The first duration of each message in milliseconds (float32, NaN where there is none)."""
    import numpy as np
    import pandas as pd

    s = pd.Series(messages, dtype="object") if not isinstance(messages, pd.Series) else messages
    if s.empty:
        return np.empty(0, dtype=np.float32)
    found = s.str.extract(DURATION_RE, expand=True)
    value = pd.to_numeric(found[0], errors="coerce").to_numpy(dtype=np.float64)
    scale = found[1].map(_UNIT_MS).to_numpy(dtype=np.float64, na_value=np.nan)
    return (value * scale).astype(np.float32)


def line_durations_ms(frame: pd.DataFrame) -> np.ndarray:
    """Each line's duration: its attrs duration (``attr_duration_ms``, read by the scoring query
    from the keys in LOGINTEL_DURATION_ATTRS) where it has one, else the first in its message
    (``line_duration_ms`` when the scoring query computed both on the server)."""
    import numpy as np

    if "line_duration_ms" in frame:
        return frame["line_duration_ms"].to_numpy(dtype=np.float32, na_value=np.nan)
    if "attr_duration_ms" not in frame:
        return durations_ms(frame["message"])
    out = frame["attr_duration_ms"].to_numpy(dtype=np.float32, na_value=np.nan).copy()
    missing = np.isnan(out)
    if missing.any():  # the regex only for the lines without a duration field
        out[missing] = durations_ms(frame["message"][missing])
    return out
