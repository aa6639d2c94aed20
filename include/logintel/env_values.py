"""Parsers of environment values: one per type, each raising SettingsError with a message
that names the variable (`LOGINTEL_CHUNK_SIZE must be an integer, got 'abc'`), never a secret.
Light on purpose: DAG files and the UI plugin import it at parse time."""
from __future__ import annotations

import math
from pathlib import Path
from urllib.parse import urlsplit


class SettingsError(ValueError):
    """A setting Logintel cannot use; the message names the variable (never a secret)."""


_TRUE = ("on", "true", "1", "yes")
_FALSE = ("off", "false", "0", "no")


def parse_int(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None


def parse_float(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if not math.isfinite(value):
        raise SettingsError(f"{name} must be a finite number, got {raw!r}")
    return value


def parse_bool(name: str, raw: str) -> bool:
    value = raw.lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise SettingsError(f"{name} must be one of on/off, true/false, yes/no, 1/0, got {raw!r}")


def parse_text(name: str, raw: str) -> str:
    return raw


def parse_path(name: str, raw: str) -> Path:
    if "\0" in raw:
        raise SettingsError(f"{name} must be a folder path, got {raw!r}")
    path = Path(raw).expanduser()
    if path.exists() and not path.is_dir():
        raise SettingsError(f"{name} must be a folder, got {raw!r} (a file)")
    return path


def parse_asset_base(name: str, raw: str) -> str:
    """Postgres asset URIs must be complete: postgres://host:port/database/schema."""
    base = raw.rstrip("/")
    parts = urlsplit(base)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme != "postgres" or not parts.hostname or port is None or len(parts.path.strip("/").split("/")) != 2:
        raise SettingsError(f"{name} must look like postgres://host:5432/database/schema, got {raw!r}")
    return base


def check_range(name: str, value: float, minimum: float | None = None, maximum: float | None = None) -> None:
    if (minimum is None or value >= minimum) and (maximum is None or value <= maximum):
        return
    if maximum is None:
        bounds = f"at least {minimum}"
    elif minimum is None:
        bounds = f"at most {maximum}"
    else:
        bounds = f"between {minimum} and {maximum}"
    raise SettingsError(f"{name} must be {bounds}, got {value!r}")


