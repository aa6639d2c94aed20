"""The URI prefix of the pipeline's Airflow Assets, derived from a database URL."""
from __future__ import annotations

from urllib.parse import urlsplit


def asset_base(database_url: str) -> str:
    parts = urlsplit(database_url)
    host = parts.hostname or "localhost"
    port = parts.port or 5432
    database = parts.path.lstrip("/") or "postgres"
    return f"postgres://{host}:{port}/{database}/logintel"
