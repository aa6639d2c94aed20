"""Findings: wrong levels and wrong anomaly flags, recorded through the GX findings suite.

1. Template statistics (lines per template and recorded level, in SQL) and the model's
   out-of-group probabilities give level verdicts per (template, recorded level).
2. The GX findings suite validates `v_prediction_checks`; the ids it reports failing
   become rows of `dq_findings` (unique per log, kind and model version: re-runs add nothing).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from . import db
from .settings import get_settings
from .scoring import require_champion

log = logging.getLogger(__name__)
FINDINGS_LOCK = 741_2004


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


def compute_verdicts(url: str, min_confidence: float = 0.0) -> int:
    """Recompute the level verdicts of the champion (delete + insert in one transaction).

    `min_confidence` drops verdicts below it (the scoring DAG's `confidence` param); the
    detector's own thresholds (detect.py) already apply, so values below ~0.9 change nothing.
    """
    import pandas as pd

    from . import frames, model, verdicts as rules

    version, path, sha = require_champion(url)
    bundle = model.load(path, sha)
    with db.connect(url) as conn:
        stats = frames.read_frame(conn, db.sql("findings/template_level_stats"), {"model_version": version},
                                  dtypes={"template_key": "str", "level": "str", "n": "int64", "service": "str"})
    verdicts = pd.DataFrame()
    if len(stats):
        probs = model.template_probabilities(bundle, stats.drop_duplicates("template_key"))
        verdicts = rules.level_verdicts(stats, probs)
        verdicts = verdicts[verdicts["confidence"] >= min_confidence]
    with db.transaction(url) as conn:
        conn.execute("DELETE FROM logintel.level_verdicts WHERE model_version = %s", (version,))
        if len(verdicts):
            db.copy_rows(conn, "logintel.level_verdicts",
                         ["model_version", "template_key", "level", "kind", "suggested_level", "confidence", "reason"],
                         ((version, r.template_key, r.level, r.kind, r.suggested_level, float(r.confidence), r.reason)
                          for r in verdicts.itertuples(index=False)))
    with db.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE logintel.level_verdicts")
    return len(verdicts)


def record_findings(url: str | None = None, run_key: str = "manual",
                    min_confidence: float | None = None) -> FindingsResult:
    from .quality import run as gx_run

    url = url or db.database_url()
    version, _, _ = require_champion(url)
    # Findings runs of one database take turns (a session advisory lock), so a manual and a
    # scheduled run never interleave verdicts and inserts; unique keys stop duplicates anyway.
    with db.connect(url, autocommit=True) as lock_conn:
        lock_conn.execute("SELECT pg_advisory_lock(%s)", (FINDINGS_LOCK,))
        try:
            n_verdicts = compute_verdicts(url, get_settings().confidence if min_confidence is None
                                          else min_confidence)
            run = gx_run.validate_findings(url, run_key)
            level_ids = _failing_ids(url, run, "level_issue")
            anomaly_ids = _failing_ids(url, run, "anomaly_issue")
            with db.transaction(url) as conn:
                new = conn.execute(db.sql("findings/insert"), {"run_key": run_key, "level_ids": level_ids,
                                                               "anomaly_ids": anomaly_ids}).rowcount
                by_kind = dict(conn.execute(
                    "SELECT kind, count(*) FROM logintel.dq_findings WHERE model_version = %s "
                    "GROUP BY kind ORDER BY kind", (version,)).fetchall())
        finally:
            lock_conn.execute("SELECT pg_advisory_unlock(%s)", (FINDINGS_LOCK,))
    return FindingsResult(run_key, version, n_verdicts, new, by_kind, run.data_docs, run.success)


def _failing_ids(url: str, run, column: str) -> list[int]:
    """The ids GX reported failing; when GX cut the list at its limit, the same predicate in SQL."""
    if run.complete_ids(column):
        return run.unexpected_ids.get(column, [])
    log.warning("GX returned %d of %d failing ids of %s; reading the rest from the view",
                len(run.unexpected_ids.get(column, [])), run.unexpected_counts.get(column, 0), column)
    query = {"level_issue": "SELECT id FROM logintel.v_prediction_checks WHERE level_issue IS NOT NULL",
             "anomaly_issue": "SELECT id FROM logintel.v_prediction_checks WHERE anomaly_issue IS NOT NULL"}[column]
    with db.connect(url) as conn:
        return [r[0] for r in conn.execute(query)]


def export(url: str | None = None, kind: str | None = None, all_versions: bool = False) -> list[dict]:
    url = url or db.database_url()
    version = None if all_versions else require_champion(url)[0]
    with db.connect(url) as conn:
        cur = conn.execute(db.sql("findings/export"), {"model_version": version, "kind": kind})
        cols = [c.name for c in cur.description]
        return [dict(zip(cols, row)) for row in cur]


__all__ = ["record_findings", "compute_verdicts", "export", "FindingsResult"]
