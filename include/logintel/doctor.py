"""`logintel doctor`: check what the pipeline needs, one line each, and say what to do about a problem."""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from . import db
from .settings import CONNECTION_VAR, get_settings, mask_url

MIN_FREE_BYTES = 2 << 30  # 2 GiB: a 1M-line ingest, its predictions and GX output fit easily


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def run_checks() -> list[Check]:
    """Every check, in order; a check that cannot run (no database) says so instead of raising."""
    settings = get_settings()
    checks: list[Check] = []
    url = db.database_url(settings)
    checks.append(_database(url))
    reachable = checks[-1].ok
    checks.append(_migrations(url) if reachable else
                  Check("schema", False, "not checked: the database is unreachable", "fix the database first"))
    checks.append(_champion(url) if reachable else
                  Check("champion", False, "not checked: the database is unreachable", "fix the database first"))
    gx_dir = settings.gx_root / "gx"
    checks.append(Check("GX project", gx_dir.is_dir(), str(gx_dir) if gx_dir.is_dir() else f"{gx_dir} does not exist yet",
                        "" if gx_dir.is_dir() else "run `logintel quality` (or the log_quality DAG) once: it creates it"))
    checks.append(_airflow_connection(settings))
    landing = settings.landing_dir
    checks.append(Check("landing folder", landing.is_dir(), str(landing),
                        "" if landing.is_dir() else f"mkdir -p {landing} (log_ingest scans it for new files)"))
    checks.append(_disk(settings.home))
    return checks


def _database(url: str) -> Check:
    try:
        with db.connect(url) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
    except Exception as exc:  # any failure to connect is the finding
        return Check("database", False, " ".join(str(exc).split()),
                     "start it (`make db`, or `logintel db up` for the embedded server) or fix LOGINTEL_DATABASE_URL")
    return Check("database", True, f"{mask_url(url)} (PostgreSQL {version})")


def _migrations(url: str) -> Check:
    import psycopg

    known = [v for v, _ in db.migrations()]
    try:
        with db.connect(url) as conn:
            applied = {r[0] for r in conn.execute(db.sql("doctor/applied_migrations"))}
    except psycopg.errors.UndefinedTable:
        applied = set()
    pending = [v for v in known if v not in applied]
    if pending:
        return Check("schema", False, f"{len(pending)} migration(s) pending: {', '.join(pending)}",
                     "run `logintel db upgrade` (every other command applies them too)")
    return Check("schema", True, f"up to date ({known[-1]})")


def _champion(url: str) -> Check:
    import psycopg

    from . import ml, registry

    try:
        ref = registry.champion(url)
    except psycopg.errors.UndefinedTable:
        ref = None
    if ref is None:
        return Check("champion", False, "no champion model", "run `logintel train` (or the log_training DAG)")
    path = Path(ref.artifact_path)
    if not path.is_file():
        return Check("champion", False, f"{ref.version}: artifact {path} is missing",
                     "share the models folder with this machine, or run `logintel train` to rebuild it")
    try:
        ml.load(path, ref.sha256)
    except ml.ArtifactError as exc:
        return Check("champion", False, f"{ref.version}: {exc}", "run `logintel train` to rebuild the artifact")
    return Check("champion", True, f"{ref.version}: {path} (sha256 matches)")


def _airflow_connection(settings) -> Check:
    if settings.airflow_connection_set:
        return Check("Airflow connection", True, f"logintel_db set in {CONNECTION_VAR}")
    return Check("Airflow connection", False, f"{CONNECTION_VAR} is not set in this shell",
                 "source scripts/env.sh (it sets it), or create the connection `logintel_db` in Airflow")


def _disk(folder: Path) -> Check:
    free = shutil.disk_usage(folder).free
    ok = free >= MIN_FREE_BYTES
    return Check("free disk", ok, f"{free / (1 << 30):.1f} GiB free under {folder}",
                 "" if ok else "free some space: ingest, predictions and GX output need a few GiB")


__all__ = ["Check", "run_checks"]
