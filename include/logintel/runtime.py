"""Bring up the configured database server and describe it for shells, Airflow and GX."""
from __future__ import annotations

import shlex

from . import db
from .settings import Settings, get_settings


def airflow_metadata_url(logintel_url: str) -> str:
    """Airflow's metadata DB: `<logintel db>_airflow` on the same server, via psycopg2 as Airflow expects."""
    url = db.with_database(logintel_url, db.database_name(logintel_url) + "_airflow")
    return "postgresql+psycopg2://" + url.split("://", 1)[1]


def prepare(settings: Settings | None = None, migrate: bool = True) -> dict[str, str]:
    """Start the server if embedded, create both databases, apply migrations; return the env to export."""
    settings = settings or get_settings()
    url = db.database_url(settings)
    db.ensure_database(url)
    meta = airflow_metadata_url(url)
    db.ensure_database("postgresql://" + meta.split("://", 1)[1])
    if migrate:
        db.upgrade(url)
    from .airflow.asset_base import asset_base

    return {
        "LOGINTEL_DATABASE_URL": url,
        "LOGINTEL_ASSET_BASE": asset_base(url),
        "AIRFLOW_CONN_LOGINTEL_DB": url,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": meta,
    }


def shell_exports(env: dict[str, str]) -> str:
    return "\n".join(f"export {k}={shlex.quote(v)}" for k, v in env.items())
