"""Database URLs from Airflow connections: `connection_url()` turns a Task SDK `Connection`,
or the value of AIRFLOW_CONN_LOGINTEL_DB in URI or JSON form, into a libpq URL;
`normalise_scheme()` is the one place `postgres://` becomes `postgresql://`; `mask_url()` hides a
password for logs. No Airflow import: DAG files and the UI plugin import it at parse time."""
from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from .env_values import SettingsError, check_range, parse_int

log = logging.getLogger(__name__)

DATABASE_URL_VAR = "LOGINTEL_DATABASE_URL"
CONNECTION_ID = "logintel_db"
CONNECTION_VAR = "AIRFLOW_CONN_LOGINTEL_DB"


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
        check_range(f"{name} port", port, 1, 65535)
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


def database_url_from_env(env: Mapping[str, str | None]) -> tuple[str | None, str | None]:
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


