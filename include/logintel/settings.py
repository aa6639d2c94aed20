"""Settings for Logintel: the only module that reads LOGINTEL_* environment variables.

`get_settings()` parses the environment once per distinct set of values (cached) into a
frozen `Settings`; every variable goes through one parser per type, and a bad value is an
error naming the variable (`LOGINTEL_CHUNK_SIZE must be an integer, got 'abc'`), never a
silent default. Code that needs other values for a while (an evaluation's scratch folders)
uses `overridden(...)`, which changes what `get_settings()` returns in the current context
without touching `os.environ`.

`connection_url()` turns an Airflow connection (a Task SDK `Connection`, or the value of
AIRFLOW_CONN_LOGINTEL_DB in URI or JSON form) into a libpq URL; `normalise_scheme()` is the
one place `postgres://` becomes `postgresql://`.

Nothing here imports heavy libraries (nor Airflow): DAG files and the UI plugin import this
module at parse time.
"""
from __future__ import annotations

import contextvars
import functools
import json
import logging
import math
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

log = logging.getLogger(__name__)

# The repo root when installed editable (include/logintel/settings.py -> ../..).
_DEFAULT_HOME = Path(__file__).resolve().parents[2]

DATABASE_URL_VAR = "LOGINTEL_DATABASE_URL"
CONNECTION_ID = "logintel_db"
CONNECTION_VAR = "AIRFLOW_CONN_LOGINTEL_DB"


class SettingsError(ValueError):
    """A setting Logintel cannot use; the message names the variable (never a secret)."""


# --- one parser per type -------------------------------------------------------------------

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


def _text(name: str, raw: str) -> str:
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


def _check_range(name: str, value: float, minimum: float | None = None, maximum: float | None = None) -> None:
    if (minimum is None or value >= minimum) and (maximum is None or value <= maximum):
        return
    if maximum is None:
        bounds = f"at least {minimum}"
    elif minimum is None:
        bounds = f"at most {maximum}"
    else:
        bounds = f"between {minimum} and {maximum}"
    raise SettingsError(f"{name} must be {bounds}, got {value!r}")


# --- URLs ----------------------------------------------------------------------------------

def mask_url(url: str) -> str:
    """Hide the password of a database URL so it can be logged or shown."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def normalise_scheme(url: str) -> str:
    """`postgres://` (Heroku, Airflow's conn type) -> `postgresql://` (SQLAlchemy needs it)."""
    return "postgresql://" + url[len("postgres://"):] if url.startswith("postgres://") else url


# libpq's connection parameter key words (PostgreSQL 18 docs, "Parameter Key Words"), less
# the five a connection carries in its own fields (host, port, dbname, user, password).
LIBPQ_PARAMETERS = frozenset({
    "hostaddr", "passfile", "require_auth", "channel_binding", "connect_timeout", "client_encoding",
    "options", "application_name", "fallback_application_name", "keepalives", "keepalives_idle",
    "keepalives_interval", "keepalives_count", "tcp_user_timeout", "replication", "gssencmode",
    "sslmode", "sslnegotiation", "sslcompression", "sslcert", "sslkey", "sslkeylogfile", "sslpassword",
    "sslcertmode", "sslrootcert", "sslcrl", "sslcrldir", "sslsni", "requirepeer",
    "ssl_min_protocol_version", "ssl_max_protocol_version", "min_protocol_version", "max_protocol_version",
    "krbsrvname", "gsslib", "gssdelegation", "scram_client_key", "scram_server_key", "service",
    "target_session_attrs", "load_balance_hosts", "oauth_issuer", "oauth_client_id",
    "oauth_client_secret", "oauth_scope",
})
_POSTGRES_TYPES = ("postgres", "postgresql")
_warned_extras: set[tuple[str, ...]] = set()  # a task reads the connection twice: env, Task SDK


def _extra_dict(extra: Any, name: str) -> Any:
    """A connection's extra: a dict, or its JSON text (empty: no extras)."""
    if not isinstance(extra, str):
        return extra or {}
    try:
        return json.loads(extra) if extra.strip() else {}
    except json.JSONDecodeError as exc:  # the message carries a position, not the value
        raise SettingsError(f"{name}: its extra is not JSON ({exc.msg} at {exc.pos})") from None


def _connection_from_uri(value: str, name: str) -> dict:
    """The fields of an Airflow connection URI (the parse of Airflow's Connection.from_uri)."""
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:  # bad port, bad IPv6 literal: say which, without the value
        raise SettingsError(f"{name} is not a valid connection URI: {exc}") from None
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    extra = _extra_dict(query["__extra__"], name) if "__extra__" in query else query
    return {"conn_type": parts.scheme, "host": unquote(parts.hostname or ""), "port": port,
            "login": unquote(parts.username or ""), "password": unquote(parts.password or ""),
            "schema": unquote(parts.path[1:]), "extra": extra}


def _connection_from_json(value: str, name: str) -> dict:
    try:
        data = json.loads(value)
    except json.JSONDecodeError as exc:
        raise SettingsError(f"{name} is neither a connection URI nor valid JSON ({exc.msg} at {exc.pos})") from None
    if not isinstance(data, dict):
        raise SettingsError(f"{name} in JSON form must be an object with host, login, password, ...")
    return {k: data.get(k) for k in ("conn_type", "host", "port", "login", "password", "schema")} | {
        "extra": _extra_dict(data.get("extra"), name)}


def _connection_from_object(conn: Any, name: str) -> dict:
    extra = getattr(conn, "extra_dejson", None)
    if extra is None:
        extra = _extra_dict(getattr(conn, "extra", None), name)
    return {k: getattr(conn, k, None) for k in ("conn_type", "host", "port", "login", "password", "schema")} | {
        "extra": extra}


def _extra_value(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def connection_url(conn: Any, name: str = CONNECTION_ID) -> str:
    """The libpq URL of an Airflow connection.

    `conn` is a Connection object (Task SDK: host, port, login, password, schema, extra) or an
    AIRFLOW_CONN_* value, as a URI (`postgres://user:pw@host:5432/db?sslmode=require`) or as
    JSON (`{"conn_type": "postgres", "host": ..., "extra": {...}}`): Airflow accepts both.
    Login and password are URL-quoted; the schema is the database. Extras libpq understands
    (sslmode, options, connect_timeout, ...: LIBPQ_PARAMETERS) go into the query string; any
    other extra (`cursor`, `sqlalchemy_scheme`, ...) would make libpq refuse the URL, so it is
    dropped, with one warning per process naming the keys (never the values).
    """
    if isinstance(conn, str):
        value = conn.strip()
        fields_ = _connection_from_json(value, name) if value.startswith("{") else _connection_from_uri(value, name)
    else:
        fields_ = _connection_from_object(conn, name)
    conn_type = (fields_["conn_type"] or "").replace("-", "_").lower()
    if conn_type and conn_type not in _POSTGRES_TYPES:
        raise SettingsError(f"{name} must be a Postgres connection, got conn_type {conn_type!r}")
    if not isinstance(fields_["extra"], Mapping):
        raise SettingsError(f"{name}: its extra must be a JSON object")

    login, password = fields_["login"] or "", fields_["password"] or ""
    userinfo = quote(login, safe="") + (":" + quote(password, safe="") if password else "")
    host = fields_["host"] or ""
    if host.startswith("/"):  # a Unix socket folder
        host = quote(host, safe="")
    elif ":" in host and not host.startswith("["):  # IPv6
        host = f"[{host}]"
    netloc = (userinfo + "@" if userinfo else "") + host
    if fields_["port"] not in (None, ""):
        port = parse_int(f"{name} port", str(fields_["port"]).strip())
        _check_range(f"{name} port", port, 1, 65535)
        netloc += f":{port}"
    path = "/" + quote(fields_["schema"], safe="") if fields_["schema"] else ""

    extra = fields_["extra"]
    params = {k: _extra_value(v) for k, v in extra.items() if k in LIBPQ_PARAMETERS and v is not None}
    dropped = tuple(sorted(k for k in extra if k not in LIBPQ_PARAMETERS))
    if dropped and dropped not in _warned_extras:
        _warned_extras.add(dropped)
        log.warning("connection %s: ignoring extras libpq does not understand: %s", name, ", ".join(dropped))
    query = "?" + urlencode(params, quote_via=quote) if params else ""  # libpq reads %20, not +
    return f"postgresql://{netloc}{path}{query}"


def _database_url(env: Mapping[str, str | None]) -> tuple[str | None, str | None]:
    """(url, the variable it came from): LOGINTEL_DATABASE_URL, else AIRFLOW_CONN_LOGINTEL_DB."""
    raw = (env.get(DATABASE_URL_VAR) or "").strip()
    if raw:
        url = normalise_scheme(raw)
        if not url.startswith("postgresql://"):
            raise SettingsError(f"{DATABASE_URL_VAR} must be a postgresql:// URL, got {mask_url(raw)!r}")
        return url, DATABASE_URL_VAR
    raw = (env.get(CONNECTION_VAR) or "").strip()
    if raw:
        return connection_url(raw, name=CONNECTION_VAR), CONNECTION_VAR
    return None, None


# --- Settings ------------------------------------------------------------------------------

DEFAULT_DURATION_ATTRS = "response_time_ms,duration_ms,latency_ms,elapsed_ms"


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str | None = field(repr=False)  # None => embedded PostgreSQL; repr: no password
    database_url_source: str | None  # LOGINTEL_DATABASE_URL, AIRFLOW_CONN_LOGINTEL_DB or None
    embedded_port: int
    embedded_port_pinned: bool  # LOGINTEL_EMBEDDED_PORT was set: never pick another port
    chunk_size: int
    partitions: int
    confidence: float
    future_tolerance_minutes: int
    train_max_rows: int
    threads: int
    gx_max_ids: int
    max_record_bytes: int
    plugin_auth: bool
    asset_base: str | None  # None => derived from the database URL
    models_dir: Path
    gx_root: Path  # GX project root: the GX context lives in <gx_root>/gx
    reports_dir: Path
    landing_dir: Path
    archive_dir: Path  # retention writes each archived partition's files here
    quarantine_max_bytes: int = 64 << 20  # quarantine keeps every byte of a bad record up to this
    stale_run_minutes: int = 60  # a running scoring run without progress this long is marked failed
    alert_connection_id: str = "logintel_alerts"  # Airflow connection of the alert digest (smtp or http)
    alert_confidence: float = 0.9  # new open groups at least this confident are alerted
    min_coverage: float = 0.99  # after a scoring run, this share of each service's logs is scored
    max_unscored_hours: float = 12.0  # after a scoring run, no scorable log has waited longer
    drift_max_unseen: float = 0.05  # drift: share of a service's lines from templates the history never had
    drift_max_psi: float = 0.25  # drift: PSI of a service's level mix and message lengths
    drift_max_flag_change: float = 0.10  # drift: change of a service's anomaly-flag rate (episodes move it)
    holdout_share: float = 0.3  # a challenger is judged on this newest share of the logs since the champion's data
    min_holdout_logs: int = 1000  # fewer hold-out logs than this: no comparison, the champion stays
    retention_days: int = 30  # log_retention archives and drops the day partitions older than this
    promotion_margin: float = 0.02  # a challenger must beat the champion by this (precision, then recall)
    # attrs keys whose value is a line's duration in milliseconds (a table source's columns land in attrs)
    duration_attrs: str = DEFAULT_DURATION_ATTRS
    alert_to: str | None = None  # e-mail recipients (comma-separated) when the connection names none
    ui_url: str = "http://localhost:8080/plugin/logintel"  # the Airflow view, linked from alerts
    debug: bool = False  # the CLI shows tracebacks of expected errors
    progress: bool = True  # the CLI draws progress bars on a terminal (never in pipes or logs)
    airflow_connection_set: bool = False  # AIRFLOW_CONN_LOGINTEL_DB is set (logintel doctor reports it)

    @property
    def duration_attr_keys(self) -> list[str]:
        return [k.strip() for k in self.duration_attrs.split(",") if k.strip()]

    def __post_init__(self) -> None:
        # Ranges are checked here, so values from the environment and from overridden()
        # are held to the same rules (and named by their variable).
        for name, (var, minimum, maximum) in _RANGES.items():
            _check_range(var, getattr(self, name), minimum, maximum)

    @property
    def pgdata(self) -> Path:
        return self.home / ".pgdata"

    @property
    def run_dir(self) -> Path:
        return self.home / ".run"

    @property
    def uses_embedded(self) -> bool:
        return self.database_url is None


# field: (variable, minimum, maximum). The scoring DAG's Params use the same limits for
# partitions, chunk_size and confidence, whose defaults come from here.
_RANGES: dict[str, tuple[str, float | None, float | None]] = {
    "embedded_port": ("LOGINTEL_EMBEDDED_PORT", 1, 65535),
    "chunk_size": ("LOGINTEL_CHUNK_SIZE", 1000, 5_000_000),
    "partitions": ("LOGINTEL_PARTITIONS", 1, 64),
    "confidence": ("LOGINTEL_CONFIDENCE", 0.5, 1.0),
    "alert_confidence": ("LOGINTEL_ALERT_CONFIDENCE", 0.0, 1.0),
    "min_coverage": ("LOGINTEL_MIN_COVERAGE", 0.0, 1.0),
    "max_unscored_hours": ("LOGINTEL_MAX_UNSCORED_HOURS", 0.0, None),
    "drift_max_unseen": ("LOGINTEL_DRIFT_MAX_UNSEEN", 0.0, 1.0),
    "drift_max_psi": ("LOGINTEL_DRIFT_MAX_PSI", 0.0, None),
    "drift_max_flag_change": ("LOGINTEL_DRIFT_MAX_FLAG_CHANGE", 0.0, 1.0),
    "holdout_share": ("LOGINTEL_HOLDOUT_SHARE", 0.05, 0.9),
    "min_holdout_logs": ("LOGINTEL_MIN_HOLDOUT_LOGS", 1, None),
    "promotion_margin": ("LOGINTEL_PROMOTION_MARGIN", 0.0, 1.0),
    "retention_days": ("LOGINTEL_RETENTION_DAYS", 1, None),
    "stale_run_minutes": ("LOGINTEL_STALE_RUN_MINUTES", 1, None),
    "quarantine_max_bytes": ("LOGINTEL_QUARANTINE_MAX_BYTES", 1, None),
    "future_tolerance_minutes": ("LOGINTEL_FUTURE_TOLERANCE_MINUTES", 0, None),
    "train_max_rows": ("LOGINTEL_TRAIN_MAX_ROWS", 1, None),
    "threads": ("LOGINTEL_THREADS", 1, None),
    "gx_max_ids": ("LOGINTEL_GX_MAX_IDS", 1, None),
    "max_record_bytes": ("LOGINTEL_MAX_RECORD_BYTES", 1, None),
}

# Every variable get_settings() reads: the cache key is a snapshot of exactly these.
VARIABLES = (
    "LOGINTEL_HOME", DATABASE_URL_VAR, CONNECTION_VAR, "LOGINTEL_EMBEDDED_PORT", "LOGINTEL_CHUNK_SIZE",
    "LOGINTEL_PARTITIONS", "LOGINTEL_CONFIDENCE", "LOGINTEL_FUTURE_TOLERANCE_MINUTES",
    "LOGINTEL_TRAIN_MAX_ROWS", "LOGINTEL_THREADS", "LOGINTEL_GX_MAX_IDS", "LOGINTEL_MAX_RECORD_BYTES",
    "LOGINTEL_PLUGIN_AUTH", "LOGINTEL_ASSET_BASE", "LOGINTEL_MODELS_DIR", "LOGINTEL_GX_ROOT",
    "LOGINTEL_REPORTS_DIR", "LOGINTEL_LANDING_DIR", "LOGINTEL_DEBUG",
    "LOGINTEL_STALE_RUN_MINUTES", "LOGINTEL_QUARANTINE_MAX_BYTES", "LOGINTEL_ALERT_CONN_ID", "LOGINTEL_ALERT_CONFIDENCE", "LOGINTEL_ALERT_TO", "LOGINTEL_UI_URL",
    "LOGINTEL_MIN_COVERAGE", "LOGINTEL_MAX_UNSCORED_HOURS", "LOGINTEL_DRIFT_MAX_UNSEEN", "LOGINTEL_DRIFT_MAX_PSI",
    "LOGINTEL_DRIFT_MAX_FLAG_CHANGE", "LOGINTEL_HOLDOUT_SHARE", "LOGINTEL_MIN_HOLDOUT_LOGS", "LOGINTEL_PROMOTION_MARGIN",
    "LOGINTEL_RETENTION_DAYS", "LOGINTEL_ARCHIVE_DIR", "LOGINTEL_DURATION_ATTRS", "LOGINTEL_PROGRESS",
)
_FIELDS = frozenset(f.name for f in fields(Settings))
_PATH_FIELDS = frozenset({"home", "models_dir", "gx_root", "reports_dir", "landing_dir", "archive_dir"})


def _from_env(env: Mapping[str, str | None]) -> Settings:
    def value(name, parse, default):
        raw = (env.get(name) or "").strip()
        return parse(name, raw) if raw else default

    home = value("LOGINTEL_HOME", parse_path, _DEFAULT_HOME).resolve()
    url, source = _database_url(env)
    return Settings(
        home=home,
        database_url=url,
        database_url_source=source,
        embedded_port=value("LOGINTEL_EMBEDDED_PORT", parse_int, 54329),
        embedded_port_pinned=bool((env.get("LOGINTEL_EMBEDDED_PORT") or "").strip()),
        chunk_size=value("LOGINTEL_CHUNK_SIZE", parse_int, 200_000),
        partitions=value("LOGINTEL_PARTITIONS", parse_int, 2),
        confidence=value("LOGINTEL_CONFIDENCE", parse_float, 0.9),
        future_tolerance_minutes=value("LOGINTEL_FUTURE_TOLERANCE_MINUTES", parse_int, 10),
        train_max_rows=value("LOGINTEL_TRAIN_MAX_ROWS", parse_int, 1_000_000),
        threads=value("LOGINTEL_THREADS", parse_int, 1),
        gx_max_ids=value("LOGINTEL_GX_MAX_IDS", parse_int, 200_000),
        max_record_bytes=value("LOGINTEL_MAX_RECORD_BYTES", parse_int, 1 << 20),
        plugin_auth=value("LOGINTEL_PLUGIN_AUTH", parse_bool, True),
        asset_base=value("LOGINTEL_ASSET_BASE", parse_asset_base, None),
        models_dir=value("LOGINTEL_MODELS_DIR", parse_path, home / "models"),
        gx_root=value("LOGINTEL_GX_ROOT", parse_path, home),
        reports_dir=value("LOGINTEL_REPORTS_DIR", parse_path, home / "reports"),
        landing_dir=value("LOGINTEL_LANDING_DIR", parse_path, home / "landing"),
        archive_dir=value("LOGINTEL_ARCHIVE_DIR", parse_path, home / "archive"),
        retention_days=value("LOGINTEL_RETENTION_DAYS", parse_int, 30),
        stale_run_minutes=value("LOGINTEL_STALE_RUN_MINUTES", parse_int, 60),
        quarantine_max_bytes=value("LOGINTEL_QUARANTINE_MAX_BYTES", parse_int, 64 << 20),
        alert_connection_id=value("LOGINTEL_ALERT_CONN_ID", _text, "logintel_alerts"),
        alert_confidence=value("LOGINTEL_ALERT_CONFIDENCE", parse_float, 0.9),
        min_coverage=value("LOGINTEL_MIN_COVERAGE", parse_float, 0.99),
        max_unscored_hours=value("LOGINTEL_MAX_UNSCORED_HOURS", parse_float, 12.0),
        drift_max_unseen=value("LOGINTEL_DRIFT_MAX_UNSEEN", parse_float, 0.05),
        drift_max_psi=value("LOGINTEL_DRIFT_MAX_PSI", parse_float, 0.25),
        drift_max_flag_change=value("LOGINTEL_DRIFT_MAX_FLAG_CHANGE", parse_float, 0.10),
        holdout_share=value("LOGINTEL_HOLDOUT_SHARE", parse_float, 0.3),
        min_holdout_logs=value("LOGINTEL_MIN_HOLDOUT_LOGS", parse_int, 1000),
        promotion_margin=value("LOGINTEL_PROMOTION_MARGIN", parse_float, 0.02),
        duration_attrs=value("LOGINTEL_DURATION_ATTRS", _text, DEFAULT_DURATION_ATTRS),
        alert_to=value("LOGINTEL_ALERT_TO", _text, None),
        ui_url=value("LOGINTEL_UI_URL", _text, "http://localhost:8080/plugin/logintel"),
        debug=value("LOGINTEL_DEBUG", parse_bool, False),
        progress=value("LOGINTEL_PROGRESS", parse_bool, True),
        airflow_connection_set=bool((env.get(CONNECTION_VAR) or "").strip()),
    )


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
