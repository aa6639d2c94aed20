"""What each Airflow task does, as plain functions of JSON-able arguments.

DAG files call these inside @task bodies, so the DAGs stay wiring only and the same
code runs from the CLI and the tests. Heavy imports happen inside the functions.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

from ..settings import get_settings, mask_url

log = logging.getLogger(__name__)


def database_url() -> str:
    """The Logintel database for a task: env/AIRFLOW_CONN_LOGINTEL_DB, else the `logintel_db`
    connection from Airflow (through the Task SDK, never the ORM), else the embedded server."""
    from .. import db

    settings = get_settings()
    if settings.database_url:
        return settings.database_url
    try:
        from airflow.sdk import Connection

        conn = Connection.get("logintel_db")
        url = conn.get_uri()
        if url.startswith("postgres://"):
            url = "postgresql://" + url[len("postgres://"):]
        os.environ["LOGINTEL_DATABASE_URL"] = url
        return url
    except Exception:  # no such connection: the embedded server is the default
        return db.database_url(settings)


def prepare_database() -> dict:
    from .. import db

    url = database_url()
    applied = db.upgrade(url)
    log.info("database %s ready; migrations applied now: %s", mask_url(url), applied or "none")
    return {"applied": applied}


def ingest(paths: list[str] | None, service: str | None) -> dict:
    from ..ingest import ingest_paths, scan_landing

    files: list[Path] = []
    for raw in paths or [str(get_settings().landing_dir)]:
        p = Path(raw)
        files.extend(scan_landing(p) if p.is_dir() else [p])
    if not files:
        log.info("nothing to ingest in %s", paths)
        return {"batch_id": None, "read": 0, "loaded": 0, "duplicates": 0, "quarantined": 0}
    result = ingest_paths(files, default_service=service, url=database_url())
    log.info("ingest batch %s: %s", result.batch_id, result.as_dict())
    return result.as_dict()


def validate_new_batches(run_key: str) -> dict:
    from ..quality.run import pending_batches, validate_batches

    url = database_url()
    batches = pending_batches(url)
    if not batches:
        return {"validated_batches": [], "success": True}
    run = validate_batches(url, batches, run_key, get_settings().future_tolerance_minutes)
    if not run.success:  # a failed expectation is a recorded finding, not a failed task
        log.warning("quality suite found problems: %s", run.failed)
    return {"validated_batches": batches, **run.summary()}


def train(seed: int) -> dict:
    from .. import training

    result = training.train(database_url(), seed=seed)
    return {k: v for k, v in result.as_dict().items() if k != "metrics"} | {"macro_f1": _macro_f1(result.metrics)}


def _macro_f1(metrics: dict) -> float | None:
    level = metrics.get("level", metrics)
    value = level.get("macro_f1")
    return None if value is None else float(value)


def plan_scoring(run_key: str, partitions: int) -> list[dict]:
    from .. import scoring

    url = database_url()
    run_id = scoring.start_run(url, run_key)
    parts = scoring.plan_partitions(url, partitions)
    log.info("scoring run %s: %d partitions %s", run_id, len(parts), parts)
    return [{"lo": p["lo"], "hi": p["hi"], "run_id": run_id} for p in parts]


def score_partition(lo: int, hi: int, run_id: int, chunk_size: int) -> dict:
    from .. import scoring

    result = scoring.score_partition(database_url(), lo, hi, run_id, chunk_size)
    return result.__dict__


def finish_scoring(run_key: str, partitions: list[dict]) -> dict:
    from .. import scoring

    url = database_url()
    run_id = scoring.start_run(url, run_key)
    scored = scoring.finish_run(url, run_id)
    return {"run_id": run_id, "scored": scored, "partitions": len(partitions)}


def record_findings(run_key: str, confidence: float) -> dict:
    from .. import findings

    return findings.record_findings(database_url(), run_key, min_confidence=confidence).as_dict()


def write_report() -> str:
    from ..report import write_report as write

    return str(write(database_url()))


def simulate_issues(rate: float, scheme: str, seed: int) -> dict:
    from ..corrupt import inject

    return inject(database_url(), rate=rate, scheme=scheme, seed=seed).as_dict()
