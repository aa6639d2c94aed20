"""Findings: wrong levels and wrong anomaly flags, recorded through the GX findings suite.

1. Template statistics (lines per template and recorded level, in SQL) and the model's
   out-of-group probabilities give level verdicts per (template, recorded level).
2. The GX findings suite validates `prediction_checks`, the run's snapshot of
   `v_prediction_checks` (each scoped prediction's id and issues); the ids it reports failing
   become rows of `dq_findings` (unique per log, kind and model version: re-runs add nothing).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from . import db, registry
from .registry import ModelRef
from .settings import get_settings, mask_url

log = logging.getLogger(__name__)
FINDINGS_LOCK = 741_2004
VERDICT_COLUMNS = ["model_version", "template_key", "level", "kind", "suggested_level", "confidence", "reason"]
ANOMALY_VERDICT_COLUMNS = ["model_version", "service", "template_key", "host", "bucket", "slow", "kind", "confidence",
                           "reason"]


@dataclass
class FindingsResult:
    run_key: str
    model_version: str
    verdicts: int
    new_findings: int
    by_kind: dict
    data_docs: str | None
    gx_success: bool

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def compute_verdicts(conn, model: ModelRef, min_confidence: float = 0.0,
                     min_anomaly_confidence: float | None = None) -> int:
    """Recompute the level and anomaly verdicts of `model` (delete + insert in the caller's
    transaction).

    `min_confidence` drops level verdicts below it (the scoring DAG's `confidence` param); the
    detector's own thresholds (verdicts.py) already apply, so values below ~0.9 change nothing.
    `min_anomaly_confidence` (default: `min_confidence`) drops anomaly verdicts below it: their
    confidences are calibrated, and missed-anomaly verdicts start at episodes.MISSED_THRESHOLD.
    """
    import pandas as pd

    from . import frames, ml, verdicts as rules

    bundle = ml.load(model.artifact_path, model.sha256)
    stats = frames.read_frame(conn, db.sql("findings/template_level_stats"), {"model_version": model.version},
                              dtypes={"template_key": "str", "level": "str", "n": "int64", "service": "str"})
    verdicts = pd.DataFrame()
    if len(stats):
        probs = ml.template_probabilities(bundle, stats.drop_duplicates("template_key"))
        verdicts = rules.level_verdicts(stats, probs)
        verdicts = verdicts[verdicts["confidence"] >= min_confidence]
    conn.execute(db.sql("findings/delete_verdicts"), {"model_version": model.version})
    if len(verdicts):
        db.copy_rows(conn, "logintel.level_verdicts", VERDICT_COLUMNS,
                     ((model.version, r.template_key, r.level, r.kind, r.suggested_level, float(r.confidence), r.reason)
                      for r in verdicts.itertuples(index=False)))
    anomaly_cut = min_confidence if min_anomaly_confidence is None else min_anomaly_confidence
    return len(verdicts) + compute_anomaly_verdicts(conn, model, anomaly_cut)


def compute_anomaly_verdicts(conn, model: ModelRef, min_confidence: float = 0.0) -> int:
    """Recompute the episode verdicts on anomaly flags of `model` (see episodes.py), in the
    caller's transaction."""
    from . import episodes, frames

    # the history never changes for a version: its statistics are computed by the first run only
    # (the duration limits first: the baseline counts slow lines apart, and its rows mark both as stored)
    conn.execute(db.sql("findings/store_duration_limits"), {"model_version": model.version})
    conn.execute(db.sql("findings/store_anomaly_baseline"), episodes.sql_params(model.version))
    conn.execute(db.sql("findings/store_host_shares"), {"model_version": model.version})
    groups = frames.read_frame(conn, db.sql("findings/anomaly_window_stats"), episodes.sql_params(model.version),
                               dtypes={"service": "str", "template_key": "str", "host": "str", "slow": "str",
                                       "flagged": "int64", "unflagged": "int64", "recent": "int64",
                                       "level": "str"})
    baseline = frames.read_frame(conn, db.sql("findings/anomaly_baseline"), {"model_version": model.version},
                                 dtypes={"service": "str", "template_key": "str", "slow": "str", "flagged": "int64",
                                         "unflagged": "int64", "span_buckets": "float64"})
    for frame in (groups, baseline):
        frame["slow"] = frame["slow"].eq("t")  # CSV booleans
    hosts = frames.read_frame(conn, db.sql("findings/host_shares"), {"model_version": model.version},
                              dtypes={"service": "str", "host": "str", "share": "float64"})
    recent = frames.read_frame(conn, db.sql("findings/recent_template_flags"), {"model_version": model.version},
                               dtypes={"service": "str", "template_key": "str", "flagged": "int64", "unflagged": "int64"})
    verdicts = episodes.anomaly_verdicts(groups, baseline, hosts, recent=recent)
    verdicts = verdicts[verdicts["confidence"] >= min_confidence]
    conn.execute(db.sql("findings/delete_anomaly_verdicts"), {"model_version": model.version})
    if len(verdicts):
        db.copy_rows(conn, "logintel.anomaly_verdicts", ANOMALY_VERDICT_COLUMNS,
                     ((model.version, r.service, r.template_key, r.host, episodes.stored_bucket(r.bucket), r.slow,
                       r.kind, float(r.confidence), r.reason) for r in verdicts.itertuples(index=False)))
    return len(verdicts)


def record_findings(url: str, run_key: str = "manual", min_confidence: float | None = None,
                    model: ModelRef | None = None, min_anomaly_confidence: float | None = None) -> FindingsResult:
    """Verdicts, then the GX findings suite on the predictions of `model` (the scoring run's;
    the champion when not given), then the failing ids as findings."""
    from .quality import run as gx_run

    model = model or registry.require_champion(url)
    min_confidence = get_settings().confidence if min_confidence is None else min_confidence
    if min_anomaly_confidence is None:
        min_anomaly_confidence = get_settings().anomaly_confidence
    # Findings runs of one database take turns (a session advisory lock), so a manual and a
    # scheduled run never interleave verdicts, scope and inserts; unique keys stop duplicates anyway.
    with db.connect(url, autocommit=True) as lock_conn:
        lock_conn.execute("SELECT pg_advisory_lock(%s)", (FINDINGS_LOCK,))
        try:
            with db.transaction(url) as conn:
                # the window statistics group every scored log: in memory, not in sort files on disk
                conn.execute("SET LOCAL work_mem = '256MB'")
                n_verdicts = compute_verdicts(conn, model, min_confidence, min_anomaly_confidence)
                conn.execute(db.sql("findings/set_scope"), {"model_version": model.version})
                conn.execute(db.sql("findings/snapshot_checks"))
            lock_conn.execute("ANALYZE logintel.level_verdicts")
            lock_conn.execute("ANALYZE logintel.anomaly_verdicts")
            run = gx_run.validate_findings(url, run_key)
            level_ids = _failing_ids(lock_conn, run, "level_issue")
            anomaly_ids = _failing_ids(lock_conn, run, "anomaly_issue")
            with db.transaction(url) as conn:
                new = conn.execute(db.sql("findings/insert"), {"run_key": run_key, "level_ids": level_ids,
                                                               "anomaly_ids": anomaly_ids}).rowcount
                by_kind = dict(conn.execute(db.sql("findings/count_by_kind"),
                                            {"model_version": model.version}).fetchall())
        finally:
            lock_conn.execute("SELECT pg_advisory_unlock(%s)", (FINDINGS_LOCK,))
    log.info("findings run %s of model %s on %s: %d verdicts, %d new findings", run_key, model.version,
             mask_url(url), n_verdicts, new)
    return FindingsResult(run_key, model.version, n_verdicts, new, by_kind, run.data_docs, run.success)


def _failing_ids(conn, run, column: str) -> list[int]:
    """The ids GX reported failing; when GX cut the list at its limit, the same predicate in SQL."""
    if run.complete_ids(column):
        return run.unexpected_ids.get(column, [])
    log.warning("GX returned %d of %d failing ids of %s; reading the rest from the view",
                len(run.unexpected_ids.get(column, [])), run.unexpected_counts.get(column, 0), column)
    query = {"level_issue": "findings/failing_level_ids", "anomaly_issue": "findings/failing_anomaly_ids"}[column]
    return [r[0] for r in conn.execute(db.sql(query))]


def export(url: str, kind: str | None = None, all_versions: bool = False) -> list[dict]:
    from psycopg.rows import dict_row

    version = None if all_versions else registry.require_champion(url).version
    with db.connect(url) as conn:
        cur = conn.cursor(row_factory=dict_row)
        return cur.execute(db.sql("findings/export"), {"model_version": version, "kind": kind}).fetchall()


GROUP_SORTS = ("impact", "confidence", "recent")
GROUP_STATUSES = ("open", "confirmed", "dismissed", "mixed")
GROUP_FILTERS = ("model_version", "kind", "service", "level", "status", "since", "until", "text",
                 "min_confidence", "group_id")


def group_params(limit: int | None = None, offset: int = 0, sort: str = "impact", unalerted: bool = False,
                 **filters) -> dict:
    """The parameters of sql/findings/groups.sql: every filter (None: any), the sort and the page."""
    unknown = set(filters) - set(GROUP_FILTERS)
    if unknown:
        raise TypeError(f"unknown group filters: {', '.join(sorted(unknown))}")
    if sort not in GROUP_SORTS:
        raise ValueError(f"sort must be one of {', '.join(GROUP_SORTS)}, got {sort!r}")
    if filters.get("status") not in (None, *GROUP_STATUSES):
        raise ValueError(f"status must be one of {', '.join(GROUP_STATUSES)}, got {filters['status']!r}")
    params = {name: None for name in GROUP_FILTERS}
    params.update({k: (None if v == "" else v) for k, v in filters.items()})
    return {**params, "sort": sort, "unalerted": unalerted, "limit": limit, "offset": offset}


def query_groups(conn, **options) -> list[dict]:
    """Finding groups in the caller's connection (options: see group_params)."""
    return db.query(conn, "findings/groups", group_params(**options))


def export_groups(url: str, kind: str | None = None, all_versions: bool = False, **options) -> list[dict]:
    """Findings grouped by what a person would fix (sql/findings/groups.sql), largest first."""
    version = None if all_versions else registry.require_champion(url).version
    with db.connect(url) as conn:
        return query_groups(conn, model_version=version, kind=kind, **options)


__all__ = ["record_findings", "compute_verdicts", "export", "export_groups", "query_groups", "group_params",
           "FindingsResult"]
