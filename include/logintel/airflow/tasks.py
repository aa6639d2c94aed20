"""What each Airflow task does, as plain functions of JSON-able arguments.

DAG files call these inside @task bodies, so the DAGs stay wiring only and the same
code runs from the CLI and the tests. Heavy imports happen inside the functions.
"""
from __future__ import annotations

import logging
from pathlib import Path

from ..settings import get_settings, mask_url
from .connection import database_url  # noqa: F401  (tasks.database_url: the DAGs' and tests' name)

log = logging.getLogger(__name__)


def prepare_database() -> dict:
    from .. import db

    url = database_url()
    applied = db.upgrade(url)
    log.info("database %s ready; migrations applied now: %s", mask_url(url), applied or "none")
    return {"applied": applied}


def skip_unless_changed(changed: int, why: str) -> None:
    """Skip the task (so its outlets emit no asset event) when it changed nothing."""
    if not changed:
        from airflow.sdk.exceptions import AirflowSkipException

        raise AirflowSkipException(f"{why}: no asset event, so downstream DAGs do not run for nothing")


def ingest(paths: list[str] | None, service: str | None) -> dict:
    from ..ingest import ingest_sources

    landing = get_settings().landing_dir
    sources = paths or ([str(landing)] if landing.exists() else [])
    result = ingest_sources(sources, default_service=service, url=database_url())
    if result is None:
        log.info("nothing to ingest in %s", sources or landing)
        return {"batch_id": None, "read": 0, "loaded": 0, "duplicates": 0, "quarantined": 0}
    log.info("ingest batch %s: %s", result.batch_id, result.as_dict())
    return result.as_dict()


def extract_table(conn_id: str, table: str, preset: str | None, key: str, chunk_rows: int, watermark: str = "key",
                  lookback_minutes: int = 0, query: str | None = None) -> dict:
    """New rows of a database table (the source given as an Airflow connection), chunk by chunk."""
    from .. import extract
    from ..settings import connection_url

    if not conn_id:
        skip_unless_changed(0, "no source connection (param conn_id)")
    from airflow.sdk import Connection

    source = extract.TableSource(url=connection_url(Connection.get(conn_id), name=conn_id), table=table, key=key,
                                 columns=extract.mapping(preset), watermark=watermark,
                                 lookback_minutes=lookback_minutes, query=query)
    done = extract.totals(extract.extract(database_url(), source, chunk_rows=chunk_rows))
    log.info("extract of %s: %s", source.name, done)
    return {"source": source.name, **done}


def validate_new_batches(run_key: str) -> dict:
    from ..quality.run import validate_new_batches as validate

    batches, run = validate(database_url(), run_key, get_settings().future_tolerance_minutes)
    if run is None:
        return {"validated_batches": [], "success": True}
    if not run.success:  # a failed expectation is a recorded finding, not a failed task
        log.warning("quality suite found problems: %s", run.failed)
    return {"validated_batches": batches, **run.summary()}


def train_models(seed: int) -> dict:
    """Train a version; with a champion in place it is a challenger judged on the same recent logs."""
    from .. import training

    result = training.train_and_register(database_url(), seed=seed)
    log.info("model %s: %s (%s)", result.version, result.status, result.decision)
    return ({k: v for k, v in result.as_dict().items() if k not in ("metrics", "comparison")}
            | {"macro_f1": _macro_f1(result.metrics), "comparison": result.comparison,
               "champion_changed": result.created and result.status == "champion"})


def apply_retention(days: int, dry_run: bool) -> dict:
    """log_retention: archive, verify, drop; a failed archive fails the task (its partition stays)."""
    from .. import retention

    result = retention.run(database_url(), days=days, dry_run=dry_run)
    log.info("retention: %s", result)
    if result["failed"]:
        raise RuntimeError(f"{result['failed']} partition(s) not archived and kept: "
                           + "; ".join(f"{r['partition']}: {r.get('reason')}" for r in result["partitions"]
                                       if r["status"] == "failed"))
    return result


def rollback_model() -> dict:
    """The log_training DAG's `rollback` param: the previous champion becomes champion again."""
    from .. import registry

    done = registry.rollback(database_url(), decided_by="airflow")
    log.info("rolled back: %s", done["decision"])
    return {**done, "champion_changed": True}


def _macro_f1(metrics: dict) -> float | None:
    level = metrics.get("level", metrics)
    value = level.get("macro_f1")
    return None if value is None else float(value)


def start_scoring_run(run_key: str) -> dict:
    """Create the scoring run once; its identity travels to every later step through XCom."""
    from .. import scoring

    run = scoring.start_run(database_url(), run_key)
    log.info("scoring run %s with model %s", run.run_id, run.model.version)
    return run.as_dict()


def plan_partitions(run: dict, partitions: int) -> list[dict]:
    from .. import scoring

    parts = scoring.plan_partitions(database_url(), scoring.ScoringRun.from_dict(run), partitions)
    log.info("scoring run %s: %d partitions %s", run["run_id"], len(parts), parts)
    return parts


def score_partition(run: dict, part: dict, chunk_size: int) -> dict:
    from .. import scoring

    result = scoring.score_partition(database_url(), scoring.ScoringRun.from_dict(run), part["lo"], part["hi"],
                                     chunk_size)
    return result.__dict__


def finish_scoring(run: dict, partitions: int) -> dict:
    from .. import scoring

    scoring_run = scoring.ScoringRun.from_dict(run)
    scored = scoring.finish_run(database_url(), scoring_run)
    return {"run_id": scoring_run.run_id, "model_version": scoring_run.model.version, "scored": scored,
            "partitions": int(partitions)}


def check_coverage(run_key: str) -> dict:
    """The coverage of this DAG run's scoring run, checked by the GX coverage suite (fails the
    task when it fails; runs even when scoring failed, so a stall is recorded)."""
    from .. import coverage

    url = database_url()
    run_id = coverage.run_id_of(url, run_key)
    if run_id is None:  # plan failed before it created the run: nothing to measure
        from airflow.sdk.exceptions import AirflowSkipException

        raise AirflowSkipException(f"no scoring run {run_key!r} was started")
    result = coverage.check(url, run_id, run_key)
    log.info("scoring coverage: %s", [(r["service"], r["coverage"]) for r in result["services"]])
    return result


def check_drift(run: dict) -> dict:
    """The drift of this run's logs against the model's history, checked by the GX drift suite
    (recorded in dq_runs; drift is a signal, so the task succeeds either way)."""
    from .. import drift

    result = drift.check(database_url(), int(run["run_id"]), str(run["run_key"]))
    if not result["success"]:
        log.warning("drift against the model's history: %s", [f["expectation"] + " " + str(f["column"])
                                                               for f in result["failed"]])
    return {k: result[k] for k in ("success", "failed", "data_docs")}


def publish_drift(result: dict) -> None:
    """The drift asset event (it triggers log_training: a challenger) only when the drift suite failed."""
    skip_unless_changed(0 if result["success"] else len(result["failed"]) or 1, "no drift beyond the limits")


def record_findings(run: dict, confidence: float, anomaly_confidence: float | None = None) -> dict:
    from .. import findings, scoring

    scoring_run = scoring.ScoringRun.from_dict(run)
    return findings.record_findings(database_url(), scoring_run.run_key, min_confidence=confidence,
                                    model=scoring_run.model, min_anomaly_confidence=anomaly_confidence).as_dict()


def publish_findings(found: dict, outlet_events, asset) -> None:
    """The findings asset event, with the counts as its extra, only when findings are new."""
    skip_unless_changed(found["new_findings"], "no new findings")
    outlet_events[asset].extra = {"model_version": found["model_version"], "new_findings": found["new_findings"],
                                  "by_kind": found["by_kind"], "gx_success": found["gx_success"]}


def send_alerts(run: dict) -> dict:
    """One digest of the new open groups; a notifier's failure is recorded, never the task's."""
    from .. import alerts, scoring

    scoring_run = scoring.ScoringRun.from_dict(run)
    result = alerts.send_new_groups(database_url(), scoring_run.run_key, model_version=scoring_run.model.version)
    log.info("alerts: %s (%d groups, %d lines)%s", result.status, result.groups, result.findings,
             f": {result.error}" if result.error else "")
    return result.as_dict()


def write_report() -> str:
    from ..report import write_report as write

    return str(write(database_url()))


def simulate_issues(rate: float, scheme: str, seed: int, batch: str | None = None) -> dict:
    from ..corrupt import inject

    return inject(database_url(), rate=rate, scheme=scheme, seed=seed, batch=batch).as_dict()
