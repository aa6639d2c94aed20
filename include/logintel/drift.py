"""Drift: do the logs a scoring run scored still look like the history its model was trained on?

Per service, on every scoring run (``sql/drift/``): the share of lines from templates the history
never had (a new release), whether the service is new, the population stability index (PSI) of
its level mix and of its message lengths (log2 bins), the largest level-mix PSI of one of its
templates (a call site that changed its level while the service's mix hardly moved), and its
anomaly-flag rate against the history's. Both sides are summed from the counts the scoring runs
wrote while they scored (``run_counts.py``) where those are whole, else from the predictions
joined with their logs. The figures go to ``logintel.drift_snapshots``; the GX suite ``scoring_drift`` checks
them against the settings (``LOGINTEL_DRIFT_*``), so drift is a failed validation in ``dq_runs``
and Data Docs, shown in the report, the summary and the Airflow view. Drift is a signal, not a
fault: the DAG task records it and carries on.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import db, run_counts

__all__ = ["population_stability", "template_level_shift", "drift_figures", "take_snapshot", "check", "latest", "history",
           "SNAPSHOT_COLUMNS"]

MIN_LINES = 50   # a service's PSI needs this many lines in the run (fewer: too noisy to judge)
SMOOTHING = 0.5  # pseudo-count per category, so a category missing on one side stays finite

SNAPSHOT_COLUMNS = ["scoring_run_id", "model_version", "service", "lines", "new_service", "unseen_template_share",
                    "level_psi", "length_psi", "flag_rate", "reference_flag_rate", "template_level_psi",
                    "template_level_worst"]


def population_stability(reference: pd.Series, current: pd.Series) -> float:
    """PSI = sum((q - p) * ln(q / p)) over the categories of either side (counts, smoothed)."""
    cats = reference.index.union(current.index)
    p = reference.reindex(cats, fill_value=0).to_numpy(np.float64) + SMOOTHING
    q = current.reindex(cats, fill_value=0).to_numpy(np.float64) + SMOOTHING
    p, q = p / p.sum(), q / q.sum()
    return float(np.sum((q - p) * np.log(q / p)))


def template_level_shift(reference: pd.DataFrame, current: pd.DataFrame) -> tuple[float | None, str | None]:
    """The largest level-mix PSI over the templates with >= MIN_LINES lines on both sides (one
    service's counts: template_key, level, lines), and that template; (None, None) if none has."""
    ref = reference.groupby(["template_key", "level"])["lines"].sum()
    cur = current.groupby(["template_key", "level"])["lines"].sum()
    ref_n, cur_n = ref.groupby(level=0).sum(), cur.groupby(level=0).sum()
    both = ref_n.index[ref_n >= MIN_LINES].intersection(cur_n.index[cur_n >= MIN_LINES])
    worst, worst_psi = None, None
    for t in both:
        psi = population_stability(ref.loc[t], cur.loc[t])
        if worst_psi is None or psi > worst_psi:
            worst, worst_psi = t, psi
    return worst_psi, worst


def drift_figures(reference: pd.DataFrame, current: pd.DataFrame, ref_lengths: pd.DataFrame,
                  cur_lengths: pd.DataFrame) -> pd.DataFrame:
    """One row per service of `current`: the figures of drift_snapshots (without run and model).

    ``reference``/``current``: service, template_key, level, lines, flagged, judged;
    ``ref_lengths``/``cur_lengths``: service, length_bin, lines."""
    known = set(zip(reference["service"], reference["template_key"]))
    ref_services = set(reference["service"])
    rows = []
    for service, cur in current.groupby("service", sort=True):
        ref = reference[reference["service"] == service]
        lines = int(cur["lines"].sum())
        unseen = sum(int(n) for t, n in zip(cur["template_key"], cur["lines"]) if (service, t) not in known)
        enough = lines >= MIN_LINES and service in ref_services
        level_psi = length_psi = None
        template_psi, template_worst = template_level_shift(ref, cur)
        if enough:
            level_psi = population_stability(ref.groupby("level")["lines"].sum(), cur.groupby("level")["lines"].sum())
            rl = ref_lengths[ref_lengths["service"] == service].set_index("length_bin")["lines"]
            cl = cur_lengths[cur_lengths["service"] == service].set_index("length_bin")["lines"]
            length_psi = population_stability(rl, cl)
        judged, ref_judged = int(cur["judged"].sum()), int(ref["judged"].sum())
        rows.append({"service": service, "lines": lines, "new_service": service not in ref_services,
                     "unseen_template_share": unseen / lines if lines else 0.0,
                     "level_psi": level_psi, "length_psi": length_psi,
                     "flag_rate": int(cur["flagged"].sum()) / judged if judged else None,
                     "reference_flag_rate": int(ref["flagged"].sum()) / ref_judged if ref_judged else None,
                     "template_level_psi": template_psi, "template_level_worst": template_worst})
    return pd.DataFrame(rows, columns=SNAPSHOT_COLUMNS[2:])


_COUNTS = {"service": "str", "template_key": "str", "level": "str", "lines": "int64", "flagged": "int64",
           "judged": "int64"}
_LENGTHS = {"service": "str", "length_bin": "int64", "lines": "int64"}


def take_snapshot(url: str, run_id: int) -> list[dict]:
    """Record the drift of scoring run `run_id` (again: replaced) and return it per service."""
    from . import frames

    with db.transaction(url) as conn:
        run = db.query_one(conn, "drift/run", {"run_id": int(run_id)})
        if run is None:
            raise ValueError(f"no scoring run {run_id}")
        version = {"model_version": run["model_version"]}
        # the history's side, once per model version; both sides from the counts the runs wrote
        # while scoring where they are whole (run_counts.py), else from the predictions
        counted = run_counts.all_counted(conn, run["model_version"])
        conn.execute(db.sql("drift/store_reference_counted" if counted else "drift/store_reference"), version)
        reference = frames.read_frame(conn, db.sql("drift/reference"), version, dtypes=_COUNTS)
        ref_lengths = frames.read_frame(conn, db.sql("drift/length_reference"), version, dtypes=_LENGTHS)
        both = frames.read_frame(conn, db.sql("drift/current_counted" if run["counted"] else "drift/current"),
                                 {"run_id": int(run_id)}, dtypes={**_COUNTS, "length_bin": "str"})
        by_length = both["length_bin"].ne("")  # the length grouping set (the other's bin is NULL: '' in CSV)
        current = both[~by_length].drop(columns="length_bin")
        cur_lengths = both[by_length].astype({"length_bin": "int64"})[list(_LENGTHS)]
        figures = drift_figures(reference, current, ref_lengths, cur_lengths)
        conn.execute(db.sql("drift/delete_snapshot"), {"run_id": int(run_id)})
        db.copy_rows(conn, "logintel.drift_snapshots", SNAPSHOT_COLUMNS,
                     ((int(run_id), run["model_version"], *(_plain(v) for v in r))
                      for r in figures.itertuples(index=False)))
    with db.connect(url) as conn:
        return latest(conn)


def _plain(value):
    """A numpy scalar as its Python value, NaN as None (COPY writes NULL)."""
    if isinstance(value, np.generic):
        value = value.item()
    return None if isinstance(value, float) and np.isnan(value) else value


def check(url: str, run_id: int, run_key: str) -> dict:
    """Snapshot, then the drift suite (recorded in dq_runs); never raises for drift itself."""
    from .quality.run import validate_drift

    rows = take_snapshot(url, run_id)
    run = validate_drift(url, run_key)
    return {"success": run.success, "services": rows, "failed": run.failed, "data_docs": run.data_docs}


def latest(conn) -> list[dict]:
    """The latest run's drift per service (empty before the first scoring run)."""
    return db.query(conn, "drift/latest")


def history(conn, limit: int = 20) -> list[dict]:
    """Drift per run (the worst service's figures), newest first."""
    return db.query(conn, "drift/history", {"limit": int(limit)})
