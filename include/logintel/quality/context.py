"""The file-backed GX context, its Postgres data source and Data Docs."""
from __future__ import annotations

import fcntl
import logging
import os
from contextlib import contextmanager
from pathlib import Path

from ..settings import get_settings, normalise_scheme

DATASOURCE = "logintel_pg"
# GX reads the URL from this variable at run time, so the secret never lands in great_expectations.yml.
URL_VARIABLE = "LOGINTEL_DATABASE_URL"


def _sqlalchemy_url(url: str) -> str:
    # psycopg 3 is installed; tell SQLAlchemy to use it.
    url = normalise_scheme(url)
    return "postgresql+psycopg://" + url[len("postgresql://"):] if url.startswith("postgresql://") else url


def project_root(url: str) -> Path:
    """The GX project of one database: <gx_root>/gx_projects/<host>-<port>-<database>.

    One project (suites, validation results, Data Docs site) per database, so the validations of
    the demo's database and of any other a checkout points at never mix in one site.
    """
    import re
    from urllib.parse import urlsplit

    parts = urlsplit(normalise_scheme(url))
    name = f"{parts.hostname or 'localhost'}-{parts.port or 5432}-{parts.path.lstrip('/') or 'postgres'}"
    return get_settings().gx_root / "gx_projects" / re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def local_site(url: str) -> Path:
    """The folder of the database's local Data Docs site (index.html inside once built)."""
    return project_root(url) / "gx" / "uncommitted" / "data_docs" / "local_site"


def get_context(url: str):
    """The database's GX file context (project_root) with the Postgres data source registered."""
    import great_expectations as gx

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    # The one place Logintel writes the environment: GX resolves `${...}` in a data source's
    # connection string from os.environ (or config_variables.yml, which would put the secret
    # on disk) when it connects, so the URL has to be there; nothing of Logintel reads it back.
    os.environ[URL_VARIABLE + "_SA"] = _sqlalchemy_url(url)
    root = project_root(url)
    root.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="file", project_root_dir=str(root))
    _quiet_progress_bars(context)
    context.data_sources.add_or_update_postgres(name=DATASOURCE, connection_string="${" + URL_VARIABLE + "_SA}")
    return context


def _quiet_progress_bars(context) -> None:
    """Metric progress bars flood task logs; switch them off once in the project config."""
    from great_expectations.data_context.types.base import ProgressBarsConfig

    current = context.variables.progress_bars
    globally = current.get("globally") if isinstance(current, dict) else getattr(current, "globally", None)
    if globally is not False:
        context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        context.variables.save()


@contextmanager
def gx_lock():
    """One GX run at a time per GX project: suites, checkpoints and Data Docs are files,
    and two runs writing them at once (a manual and a scheduled run) corrupt them."""
    root = get_settings().gx_root / "gx"
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".logintel.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def data_docs_index(context) -> str | None:
    """Path of the local Data Docs site's index page."""
    urls = context.get_docs_sites_urls()
    for site in urls:
        url = site.get("site_url") or ""
        if url.startswith("file://"):
            return url[len("file://"):]
    return None


def table_asset(context, name: str, table: str, schema: str = "logintel"):
    """The data source's asset `name` on `schema.table` (moved there if it named another table:
    a project from an earlier release keeps its asset names, suites and Data Docs)."""
    ds = context.data_sources.get(DATASOURCE)
    try:
        asset = ds.get_asset(name)
    except Exception:
        asset = None
    if asset is not None and (asset.table_name, asset.schema_name) == (table, schema):
        return asset
    if asset is not None:
        ds.delete_asset(name)
    return ds.add_table_asset(name=name, table_name=table, schema_name=schema)


def whole_batch(asset, name: str = "whole"):
    try:
        return asset.get_batch_definition(name)
    except Exception:
        return asset.add_batch_definition_whole_table(name)
