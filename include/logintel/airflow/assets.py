"""Airflow Assets of the pipeline. Light: imported by DAG files at parse time.

URIs must be complete for Postgres (postgres://host:port/db/schema/table). The prefix is
LOGINTEL_ASSET_BASE (exported by scripts/env.sh, pinned so that the assets keep their
identity whatever database a run uses), else derived from the configured database.
"""
from __future__ import annotations

from .asset_base import asset_base
from ..settings import get_settings


def _base() -> str:
    settings = get_settings()
    if settings.asset_base:
        return settings.asset_base
    return asset_base(settings.database_url or f"postgresql://127.0.0.1:{settings.embedded_port}/logintel")


def _asset(name: str, table: str):
    from airflow.sdk import Asset

    return Asset(name=name, uri=f"{_base()}/{table}")


LOGS = _asset("logintel_logs", "logs")
LOGS_VALIDATED = _asset("logintel_dq_runs", "dq_runs")
MODELS = _asset("logintel_model_versions", "model_versions")
PREDICTIONS = _asset("logintel_ml_predictions", "ml_predictions")
FINDINGS = _asset("logintel_dq_findings", "dq_findings")
DRIFT = _asset("logintel_drift_snapshots", "drift_snapshots")
