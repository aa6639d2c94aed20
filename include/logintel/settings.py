"""Settings for Logintel: the only module that reads LOGINTEL_* environment variables.

`get_settings()` parses the environment once per distinct set of values (cached) into a
frozen `Settings`; every variable goes through one parser per type (`env_values.py`), and a bad
value is an error naming the variable (`LOGINTEL_CHUNK_SIZE must be an integer, got 'abc'`),
never a silent default. Each field names its variable, parser, default and range once, in the
dataclass. Code that needs other values for a while (an evaluation's scratch folders) uses
`overridden(...)`, which changes what `get_settings()` returns in the current context without
touching `os.environ`. The database URL comes from LOGINTEL_DATABASE_URL or the Airflow
connection (`connection_url.py`).

Nothing here imports heavy libraries (nor Airflow): DAG files and the UI plugin import this
module at parse time.
"""
from __future__ import annotations

import contextvars
import functools
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .connection_url import (CONNECTION_ID, CONNECTION_VAR, DATABASE_URL_VAR, LIBPQ_PARAMETERS, connection_url,
                             database_url_from_env, mask_url, normalise_scheme)
from .env_values import (SettingsError, check_range, parse_asset_base, parse_bool, parse_float, parse_int,
                         parse_path, parse_text)

# The repo root when installed editable (include/logintel/settings.py -> ../..).
_DEFAULT_HOME = Path(__file__).resolve().parents[2]
DEFAULT_DURATION_ATTRS = "response_time_ms,duration_ms,latency_ms,elapsed_ms"


def _env(var: str, parse: Callable[[str, str], Any], default: Any, minimum: float | None = None,
         maximum: float | None = None, *, under_home: str | None = None) -> Any:
    """A field read from `var` with `parse`, `default` when unset, held to [minimum, maximum];
    `under_home`: a folder whose default is that name under LOGINTEL_HOME."""
    return field(default=default, metadata={"env": var, "parse": parse, "range": (minimum, maximum),
                                            "under_home": under_home})


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str | None = field(repr=False)  # None => embedded PostgreSQL; repr: no password
    database_url_source: str | None  # LOGINTEL_DATABASE_URL, AIRFLOW_CONN_LOGINTEL_DB or None
    embedded_port_pinned: bool  # LOGINTEL_EMBEDDED_PORT was set: never pick another port
    airflow_connection_set: bool  # AIRFLOW_CONN_LOGINTEL_DB is set (logintel doctor reports it)
    embedded_port: int = _env("LOGINTEL_EMBEDDED_PORT", parse_int, 54329, 1, 65535)
    # the scoring DAG's Params use the same limits for partitions, chunk_size and confidence
    chunk_size: int = _env("LOGINTEL_CHUNK_SIZE", parse_int, 200_000, 1000, 5_000_000)
    partitions: int = _env("LOGINTEL_PARTITIONS", parse_int, 2, 1, 64)
    # records per ingest chunk (one key claim and one COPY each; two or three chunks are in memory)
    ingest_chunk_rows: int = _env("LOGINTEL_INGEST_CHUNK_ROWS", parse_int, 50_000, 1000, 1_000_000)
    confidence: float = _env("LOGINTEL_CONFIDENCE", parse_float, 0.9, 0.5, 1.0)
    # anomaly findings' confidences are calibrated (episodes.CALIBRATION_SHIFT): 0.5 = more likely right than not
    anomaly_confidence: float = _env("LOGINTEL_ANOMALY_CONFIDENCE", parse_float, 0.5, 0.5, 1.0)
    future_tolerance_minutes: int = _env("LOGINTEL_FUTURE_TOLERANCE_MINUTES", parse_int, 10, 0)
    train_max_rows: int = _env("LOGINTEL_TRAIN_MAX_ROWS", parse_int, 1_000_000, 1)
    threads: int = _env("LOGINTEL_THREADS", parse_int, 1, 1)
    # failing ids GX returns (and keeps in its results and Data Docs) per expectation; the rest are
    # read with the same predicate in SQL. Bounded so GX's part of a findings run does not grow with
    # the failing ids: all 101,626 of them at 5M logs took GX 340 MB (a 1M run fails ~8,000)
    gx_max_ids: int = _env("LOGINTEL_GX_MAX_IDS", parse_int, 10_000, 1)
    max_record_bytes: int = _env("LOGINTEL_MAX_RECORD_BYTES", parse_int, 1 << 20, 1)
    plugin_auth: bool = _env("LOGINTEL_PLUGIN_AUTH", parse_bool, True)
    # None => derived from the database URL
    asset_base: str | None = _env("LOGINTEL_ASSET_BASE", parse_asset_base, None)
    models_dir: Path = _env("LOGINTEL_MODELS_DIR", parse_path, None, under_home="models")
    # GX project root: the GX context lives in <gx_root>/gx
    gx_root: Path = _env("LOGINTEL_GX_ROOT", parse_path, None, under_home=".")
    reports_dir: Path = _env("LOGINTEL_REPORTS_DIR", parse_path, None, under_home="reports")
    landing_dir: Path = _env("LOGINTEL_LANDING_DIR", parse_path, None, under_home="landing")
    # retention writes each archived partition's files here
    archive_dir: Path = _env("LOGINTEL_ARCHIVE_DIR", parse_path, None, under_home="archive")
    # quarantine keeps every byte of a bad record up to this
    quarantine_max_bytes: int = _env("LOGINTEL_QUARANTINE_MAX_BYTES", parse_int, 64 << 20, 1)
    # a running scoring run without progress this long is marked failed
    stale_run_minutes: int = _env("LOGINTEL_STALE_RUN_MINUTES", parse_int, 60, 1)
    # Airflow connection of the alert digest (smtp or http)
    alert_connection_id: str = _env("LOGINTEL_ALERT_CONN_ID", parse_text, "logintel_alerts")
    # new open groups at least this confident are alerted
    alert_confidence: float = _env("LOGINTEL_ALERT_CONFIDENCE", parse_float, 0.9, 0.0, 1.0)
    # after a scoring run, this share of each service's logs is scored
    min_coverage: float = _env("LOGINTEL_MIN_COVERAGE", parse_float, 0.99, 0.0, 1.0)
    # after a scoring run, no scorable log has waited longer
    max_unscored_hours: float = _env("LOGINTEL_MAX_UNSCORED_HOURS", parse_float, 12.0, 0.0)
    # drift: share of a service's lines from templates the history never had
    drift_max_unseen: float = _env("LOGINTEL_DRIFT_MAX_UNSEEN", parse_float, 0.05, 0.0, 1.0)
    # drift: PSI of a service's level mix and message lengths
    drift_max_psi: float = _env("LOGINTEL_DRIFT_MAX_PSI", parse_float, 0.25, 0.0)
    # drift: change of a service's anomaly-flag rate (episodes move it)
    drift_max_flag_change: float = _env("LOGINTEL_DRIFT_MAX_FLAG_CHANGE", parse_float, 0.10, 0.0, 1.0)
    # a challenger is judged on this newest share of the logs since the champion's data
    holdout_share: float = _env("LOGINTEL_HOLDOUT_SHARE", parse_float, 0.3, 0.05, 0.9)
    # fewer hold-out logs than this: no comparison, the champion stays
    min_holdout_logs: int = _env("LOGINTEL_MIN_HOLDOUT_LOGS", parse_int, 1000, 1)
    # log_retention archives and drops the day partitions older than this
    retention_days: int = _env("LOGINTEL_RETENTION_DAYS", parse_int, 30, 1)
    # a challenger must beat the champion by this (precision, then recall)
    promotion_margin: float = _env("LOGINTEL_PROMOTION_MARGIN", parse_float, 0.02, 0.0, 1.0)
    # attrs keys whose value is a line's duration in milliseconds (a table source's columns land in attrs)
    duration_attrs: str = _env("LOGINTEL_DURATION_ATTRS", parse_text, DEFAULT_DURATION_ATTRS)
    # e-mail recipients (comma-separated) when the connection names none
    alert_to: str | None = _env("LOGINTEL_ALERT_TO", parse_text, None)
    # the Airflow view, linked from alerts
    ui_url: str = _env("LOGINTEL_UI_URL", parse_text, "http://localhost:8080/plugin/logintel")
    debug: bool = _env("LOGINTEL_DEBUG", parse_bool, False)  # the CLI shows tracebacks of expected errors
    # the CLI draws progress bars on a terminal (never in pipes or logs)
    progress: bool = _env("LOGINTEL_PROGRESS", parse_bool, True)

    @property
    def duration_attr_keys(self) -> list[str]:
        return [k.strip() for k in self.duration_attrs.split(",") if k.strip()]

    def __post_init__(self) -> None:
        # Ranges are checked here, so values from the environment and from overridden()
        # are held to the same rules (and named by their variable).
        for f in _ENV_FIELDS:
            minimum, maximum = f.metadata["range"]
            if minimum is not None or maximum is not None:
                check_range(f.metadata["env"], getattr(self, f.name), minimum, maximum)

    @property
    def pgdata(self) -> Path:
        return self.home / ".pgdata"

    @property
    def run_dir(self) -> Path:
        return self.home / ".run"

    @property
    def uses_embedded(self) -> bool:
        return self.database_url is None


_ENV_FIELDS = tuple(f for f in fields(Settings) if "env" in f.metadata)
# Every variable get_settings() reads: the cache key is a snapshot of exactly these.
VARIABLES = ("LOGINTEL_HOME", DATABASE_URL_VAR, CONNECTION_VAR) + tuple(f.metadata["env"] for f in _ENV_FIELDS)
_FIELDS = frozenset(f.name for f in fields(Settings))
_PATH_FIELDS = frozenset({"home"} | {f.name for f in _ENV_FIELDS if f.metadata["under_home"]})


def _from_env(env: Mapping[str, str | None]) -> Settings:
    def raw(name: str) -> str:
        return (env.get(name) or "").strip()

    home = (parse_path("LOGINTEL_HOME", raw("LOGINTEL_HOME")) if raw("LOGINTEL_HOME") else _DEFAULT_HOME).resolve()
    url, source = database_url_from_env(env)
    values: dict[str, Any] = {}
    for f in _ENV_FIELDS:
        var, under_home = f.metadata["env"], f.metadata["under_home"]
        if raw(var):
            values[f.name] = f.metadata["parse"](var, raw(var))
        elif under_home:
            values[f.name] = home if under_home == "." else home / under_home
    return Settings(home=home, database_url=url, database_url_source=source,
                    embedded_port_pinned=bool(raw("LOGINTEL_EMBEDDED_PORT")),
                    airflow_connection_set=bool(raw(CONNECTION_VAR)), **values)


@functools.lru_cache(maxsize=32)
def _cached(snapshot: tuple[str | None, ...]) -> Settings:
    return _from_env(dict(zip(VARIABLES, snapshot)))


@functools.lru_cache(maxsize=32)
def _with_overrides(base: Settings, changes: tuple[tuple[str, Any], ...]) -> Settings:
    return replace(base, **dict(changes))


# Field overrides of the current context (overridden()); contexts do not cross threads or processes.
_overrides: contextvars.ContextVar[tuple[tuple[str, Any], ...]] = contextvars.ContextVar(
    "logintel_settings_overrides", default=())


def get_settings() -> Settings:
    """The settings of the current environment (parsed once per distinct environment) with
    the overrides of the current context applied. Raises SettingsError for a bad value."""
    base = _cached(tuple(os.environ.get(name) for name in VARIABLES))
    changes = _overrides.get()
    return _with_overrides(base, changes) if changes else base


@contextmanager
def overridden(**changes: Any) -> Iterator[Settings]:
    """Within the block, get_settings() returns these fields changed (validated like the
    environment's values); os.environ is not touched. Nests; undone on exit."""
    unknown = sorted(set(changes) - _FIELDS)
    if unknown:
        raise TypeError(f"Settings has no field {', '.join(unknown)}")
    merged = dict(_overrides.get())
    merged.update({k: Path(v) if k in _PATH_FIELDS and isinstance(v, str) else v for k, v in changes.items()})
    token = _overrides.set(tuple(sorted(merged.items())))
    try:
        yield get_settings()
    finally:
        _overrides.reset(token)


def cpu_threads():
    """Limit BLAS/OpenMP threads (LOGINTEL_THREADS, default 1) around model work.

    Scoring partitions already run in parallel and PostgreSQL shares the cores:
    OpenMP threads on top of that oversubscribe the CPU (4x slower under load here).
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=get_settings().threads)


# What other modules import from here (the parsers and the URL helpers live in env_values.py and
# connection_url.py; settings is where callers find them).
__all__ = ["Settings", "SettingsError", "VARIABLES", "DATABASE_URL_VAR", "CONNECTION_ID", "CONNECTION_VAR",
           "LIBPQ_PARAMETERS", "DEFAULT_DURATION_ATTRS", "get_settings", "overridden", "cpu_threads", "connection_url",
           "mask_url", "normalise_scheme", "parse_asset_base", "parse_bool", "parse_float", "parse_int", "parse_path",
           "parse_text"]
