"""The Logintel database of an Airflow process (a task, the UI plugin), resolved at the edge.

LOGINTEL_DATABASE_URL if set, else the Airflow connection `logintel_db` read through the
Task SDK (never the ORM: that fails under a real executor). There is no embedded fallback
here: a worker whose connection lookup fails must fail, not quietly write to a local database.
"""
from __future__ import annotations

from ..settings import CONNECTION_ID, DATABASE_URL_VAR, connection_url, get_settings


class DatabaseNotConfigured(RuntimeError):
    """Neither LOGINTEL_DATABASE_URL nor the Airflow connection `logintel_db` resolves."""


def database_url() -> str:
    """The libpq URL of the Logintel database for this Airflow process.

    Not cached: each call is one Task SDK lookup (one Execution API request in a task), so a
    rotated password is picked up by the next task; a task calls this once or twice.
    """
    settings = get_settings()
    if settings.database_url_source == DATABASE_URL_VAR:
        return settings.database_url
    try:
        from airflow.sdk import Connection

        conn = Connection.get(CONNECTION_ID)
        if conn is None:
            raise LookupError(f"no connection {CONNECTION_ID!r}")
    except Exception as exc:  # whatever the reason, say it; never fall back to another database
        raise DatabaseNotConfigured(
            f"Logintel tasks need the Airflow connection {CONNECTION_ID!r} or {DATABASE_URL_VAR}: "
            f"{type(exc).__name__}: {exc}") from exc
    return connection_url(conn, name=CONNECTION_ID)
