"""Airflow Assets of the pipeline. Light: imported by DAG files at parse time.

URIs must be complete for Postgres (postgres://host:port/db/schema/table); they name
the configured database, or the embedded one's address when none is set.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from .config import get_settings


def _base() -> str:
    settings = get_settings()
    if settings.database_url:
        parts = urlsplit(settings.database_url)
        host = parts.hostname or "localhost"
        port = parts.port or 5432
        database = parts.path.lstrip("/") or "postgres"
    else:
        host, port, database = "127.0.0.1", settings.embedded_port, "logintel"
    return f"postgres://{host}:{port}/{database}/logintel"


def _asset(name: str, table: str):
    from airflow.sdk import Asset

    return Asset(name=name, uri=f"{_base()}/{table}")


LOGS = _asset("logintel_logs", "logs")
LOGS_VALIDATED = _asset("logintel_dq_runs", "dq_runs")
MODELS = _asset("logintel_model_versions", "model_versions")
PREDICTIONS = _asset("logintel_ml_predictions", "ml_predictions")
FINDINGS = _asset("logintel_dq_findings", "dq_findings")
