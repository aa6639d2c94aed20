"""Run a GX suite through a checkpoint, rebuild Data Docs, and record the run in dq_runs."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from .. import db
from ..settings import get_settings
from . import context as gxctx
from .suites import (COVERAGE_SUITE, DRIFT_SUITE, FINDINGS_SUITE, LOGS_SUITE, coverage_suite, drift_suite,
                     findings_suite, logs_quality_suite)


@dataclass
class SuiteRun:
    suite: str
    run_key: str
    success: bool
    statistics: dict
    failed: list[dict]
    unexpected_ids: dict[str, list[int]] = field(default_factory=dict)
    unexpected_counts: dict[str, int] = field(default_factory=dict)
    data_docs: str | None = None

    def complete_ids(self, column: str) -> bool:
        """Did GX return every failing id of `column` (not cut at LOGINTEL_GX_MAX_IDS)?"""
        return len(self.unexpected_ids.get(column, [])) >= self.unexpected_counts.get(column, 0)

    def summary(self) -> dict:
        return {"suite": self.suite, "run_key": self.run_key, "success": self.success,
                "statistics": self.statistics, "failed": self.failed, "data_docs": self.data_docs}


def _run_checkpoint(context, name: str, batch_def, suite, id_column: str | None):
    import great_expectations as gx
    from great_expectations.checkpoint import UpdateDataDocsAction

    suite = context.suites.add_or_update(suite)
    vd = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=f"{name}_validation", data=batch_def, suite=suite))
    result_format: dict = {"result_format": "COMPLETE"}
    if id_column:
        # On SQL, GX returns at most `partial_unexpected_count` failing ids (its LIMIT).
        result_format.update({"unexpected_index_column_names": [id_column], "return_unexpected_index_query": False,
                              "partial_unexpected_count": get_settings().gx_max_ids})
    checkpoint = context.checkpoints.add_or_update(gx.Checkpoint(
        name=f"{name}_checkpoint", validation_definitions=[vd],
        actions=[UpdateDataDocsAction(name="update_data_docs")], result_format=result_format))
    return checkpoint.run()


def _collect(result, id_column: str | None) -> tuple[bool, dict, list[dict], dict[str, list[int]]]:
    (suite_result,) = list(result.run_results.values())
    failed: list[dict] = []
    ids: dict[str, list[int]] = {}
    counts: dict[str, int] = {}
    for r in suite_result.results:
        cfg = r.expectation_config
        column = cfg.kwargs.get("column")
        res = r.result or {}
        counts[column] = int(res.get("unexpected_count") or 0)
        if not r.success:
            failed.append({"expectation": cfg.type, "column": column,
                           "unexpected_count": int(res.get("unexpected_count") or 0),
                           "unexpected_percent": float(res.get("unexpected_percent") or 0.0),
                           "partial_unexpected_list": [str(v)[:200] for v in (res.get("partial_unexpected_list") or [])[:10]]})
        if id_column and res.get("unexpected_index_list"):
            # GX returns numpy ints inside dicts: make them plain ints.
            ids[column] = [int(item[id_column]) for item in res["unexpected_index_list"]]
    stats = {k: (float(v) if isinstance(v, float) else int(v) if v is not None else None)
             for k, v in dict(suite_result.statistics).items()}
    return bool(suite_result.success), stats, failed, ids, counts


def _record(url: str, run: SuiteRun, batch_ref: str) -> None:
    with db.transaction(url) as conn:
        conn.execute(db.sql("quality/record_run"), {
            "run_key": run.run_key, "suite": run.suite, "batch_ref": batch_ref, "success": run.success,
            "statistics": json.dumps(run.statistics), "results": json.dumps(run.failed), "data_docs": run.data_docs})


def pending_batches(url: str) -> list[int]:
    with db.connect(url) as conn:
        return [r[0] for r in conn.execute(db.sql("quality/pending_batches"))]


def validate_batches(url: str, batch_ids: list[int], run_key: str, tolerance_minutes: int = 10) -> SuiteRun:
    """Validate the logs of the given ingest batches with the quality suite (in SQL, on Postgres)."""
    import great_expectations as gx

    if not batch_ids:
        raise ValueError("no batches to validate")
    ids = sorted({int(b) for b in batch_ids})
    with gxctx.gx_lock():  # one quality run at a time per GX project, so the scope is ours
        with db.transaction(url) as conn:
            conn.execute("DELETE FROM logintel.quality_scope")
            db.copy_rows(conn, "logintel.quality_scope", ["batch_id", "future_tolerance_minutes"],
                         ((i, int(tolerance_minutes)) for i in ids))
        context = gxctx.get_context(url)
        asset = gxctx.table_asset(context, "quality_batch", "v_quality_batch")
        batch_def = gxctx.whole_batch(asset)
        result = _run_checkpoint(context, LOGS_SUITE, batch_def, logs_quality_suite(gx), None)
        docs = gxctx.data_docs_index(context)
    success, stats, failed, _, _ = _collect(result, None)
    run = SuiteRun(LOGS_SUITE, run_key, success, stats, failed, data_docs=docs)
    _record(url, run, ",".join(map(str, ids)))
    return run


def validate_new_batches(url: str, run_key: str, tolerance_minutes: int = 10) -> tuple[list[int], SuiteRun | None]:
    """The quality service of the CLI and the DAG: validate every batch not checked yet.
    Returns (batch ids, the run), or ([], None) when there is nothing new."""
    batches = pending_batches(url)
    if not batches:
        return [], None
    return batches, validate_batches(url, batches, run_key, tolerance_minutes)


def validate_findings(url: str, run_key: str) -> SuiteRun:
    """Validate the findings run's snapshot of the predictions' checks (prediction_checks, from
    v_prediction_checks); failing ids are the findings."""
    import great_expectations as gx

    with gxctx.gx_lock():
        context = gxctx.get_context(url)
        asset = gxctx.table_asset(context, "prediction_checks", "prediction_checks")
        batch_def = gxctx.whole_batch(asset)
        result = _run_checkpoint(context, FINDINGS_SUITE, batch_def, findings_suite(gx), "id")
        docs = gxctx.data_docs_index(context)
    success, stats, failed, ids, counts = _collect(result, "id")
    run = SuiteRun(FINDINGS_SUITE, run_key, success, stats, failed, ids, counts, docs)
    _record(url, run, "champion")
    return run


def _validate_view(url: str, run_key: str, name: str, view: str, make_suite) -> SuiteRun:
    """Validate a view of the latest scoring run's figures (coverage, drift) with the suite
    `make_suite(gx)` builds (after the GX context exists: a suite needs one)."""
    import great_expectations as gx

    with gxctx.gx_lock():
        context = gxctx.get_context(url)
        asset = gxctx.table_asset(context, name, view)
        batch_def = gxctx.whole_batch(asset)
        result = _run_checkpoint(context, name, batch_def, make_suite(gx), None)
        docs = gxctx.data_docs_index(context)
    success, stats, failed, _, _ = _collect(result, None)
    run = SuiteRun(name, run_key, success, stats, failed, data_docs=docs)
    _record(url, run, "latest scoring run")
    return run


def validate_coverage(url: str, run_key: str) -> SuiteRun:
    """Validate the latest coverage snapshot (coverage.py) with the coverage suite."""
    s = get_settings()
    return _validate_view(url, run_key, COVERAGE_SUITE, "v_coverage_latest",
                          lambda gx: coverage_suite(gx, s.min_coverage, s.max_unscored_hours))


def validate_drift(url: str, run_key: str) -> SuiteRun:
    """Validate the latest drift snapshot (drift.py) with the drift suite."""
    s = get_settings()
    return _validate_view(url, run_key, DRIFT_SUITE, "v_drift_latest",
                          lambda gx: drift_suite(gx, s.drift_max_unseen, s.drift_max_psi, s.drift_max_flag_change))


__all__ = ["SuiteRun", "validate_batches", "validate_new_batches", "validate_findings", "validate_coverage",
           "validate_drift", "pending_batches"]
