"""Showing stored text and numbers safely: on report pages, in the Airflow plugin, in a terminal.

Log messages are hostile input: HTML escaping is Jinja's job (autoescape), and this module
makes what escaping keeps (ANSI escapes, bidi overrides, NULs) visible instead of live.
"""
from __future__ import annotations

import math
import re
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

MESSAGE_CHARS = 2000  # longer messages are cut in tables (the database keeps them whole)
SAFE_LINK_SCHEMES = ("http://", "https://", "file://")

# C0/C1 controls except tab and newline, DEL, zero-width and bidirectional-override characters.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")


def _visible(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def display_text(value: Any) -> str:
    """Text safe to show on a page or terminal: control characters become visible escapes.

    HTML escaping is the template's job (autoescape); this only removes what escaping keeps,
    e.g. ``ESC[31m`` becomes the seven visible characters ``\\x1b[31m``.
    """
    if value is None:
        return ""
    return _CONTROL.sub(_visible, value if isinstance(value, str) else str(value))


def truncate(value: Any, limit: int = MESSAGE_CHARS) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[:limit] + f"… (+{len(text) - limit:,} chars)"


def fmt_number(value: Any, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):  # sum() in SQL gives numeric
        value = int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        return f"{value:,.{digits}f}"
    return str(value)


def fmt_ts(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc)
        return value.strftime("%Y-%m-%d %H:%M:%S") + (" UTC" if value.tzinfo is not None else "")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def safe_link(path: Any) -> str | None:
    """A link target for a Data Docs path, or None: only http(s) and file URLs, never javascript: etc."""
    if not path:
        return None
    text = str(path).strip()
    if text.lower().startswith(SAFE_LINK_SCHEMES):
        return text
    p = Path(text)
    return p.as_uri() if p.is_absolute() else None


def safe_finalize(value: Any) -> Any:
    """Applied by Jinja to every {{ expression }} before autoescaping."""
    if value is None:
        return ""
    if hasattr(value, "__html__"):  # already markup built by our own code
        return value
    if isinstance(value, str):
        return display_text(value)
    return value


def jinja_environment(loader):
    """The one Jinja set-up of every page (the report, the plugin's views): autoescaping on,
    control characters made visible, missing variables an error, the display filters."""
    from jinja2 import Environment, StrictUndefined

    env = Environment(loader=loader,
                      autoescape=True,  # the templates are .html.j2: select_autoescape would miss them
                      finalize=safe_finalize, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(num=fmt_number, ts=fmt_ts, trunc=truncate, clean=display_text)
    return env
