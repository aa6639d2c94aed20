"""Champion and challenger judged on the same recent logs.

Training a challenger holds back the newest logs that arrived after the champion's training
data (a chronological hold-out neither model saw). :func:`compare` copies the stored logs
into a scratch database on the same server, turns confirmed triage decisions on the
hold-out into truth, injects issues into the hold-out as the detection benchmark does, and
runs the real scoring and findings path once per model. Both get the same logs and the same
injected issues; the figures are finding precision and recall on the hold-out.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from . import db
from .registry import ModelRef

log = logging.getLogger(__name__)
LEVEL_RATE = 0.03    # share of the hold-out's WARN-or-worse lines demoted (as the detection grid)
ANOMALY_RATE = 0.10  # share of its flagged lines whose flag is cleared
HISTORY, HOLDOUT = 1, 2  # the scratch database's two ingest batches


@dataclass(frozen=True)
class Holdout:
    """The challenger trains on ids <= cut; the hold-out is (cut, hi]."""

    cut: int
    hi: int
    logs: int

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def holdout(url: str, champion_max_id: int, hi: int, share: float) -> tuple[Holdout, int]:
    """The hold-out of a challenger and the number of logs stored after the champion's data."""
    with db.connect(url) as conn:
        cut, new_logs, n = conn.execute(db.sql("training/holdout_cut"),
                                        {"after": int(champion_max_id), "share": float(share)}).fetchone()
    return Holdout(int(cut), int(hi), int(n)), int(new_logs)


def _copy_logs(url: str, scratch: str, part: Holdout) -> int:
    """The stored logs up to the hold-out's end, into the scratch database (binary COPY, ids kept)."""
    with db.connect(url) as src, db.transaction(scratch) as dst:
        lo, hi = src.execute(db.sql("challenger/ingested_range"), {"hi": part.hi}).fetchone()
        conn_in = dst.cursor()
        conn_in.execute(db.sql("challenger/prepare_scratch"))
        if lo is not None:
            conn_in.execute("SELECT logintel.ensure_log_partitions(%s, %s)", (lo, hi))
        n = 0
        with src.cursor().copy(db.sql("challenger/copy_logs_out"), {"cut": part.cut, "hi": part.hi}) as out, \
                conn_in.copy(db.sql("challenger/copy_logs_in")) as into:
            for chunk in out:
                into.write(chunk)
                n += len(chunk)
        dst.execute(db.sql("challenger/finish_copy"))
    return n


def _register(url: str, scratch: str, versions: list[str]) -> None:
    """The two versions' registry rows (same artifacts) as candidates of the scratch database."""
    with db.connect(url) as src:
        rows = src.execute(db.sql("challenger/versions_out"), {"versions": versions}).fetchall()
    with db.transaction(scratch) as dst:
        db.copy_rows(dst, "logintel.model_versions", ["version", "algorithm", "params", "metrics", "training_rows",
                                                      "max_log_id", "artifact_path", "artifact_sha256"], rows)


def _triage_truth(url: str, scratch: str, part: Holdout) -> int:
    with db.connect(url) as src:
        decided = src.execute(db.sql("challenger/decided_lines"), {"cut": part.cut, "hi": part.hi}).fetchall()
    with db.transaction(scratch) as dst:
        dst.execute("CREATE TEMP TABLE decided (log_id bigint, kind text, status text, recorded_value text,"
                    " suggested_value text) ON COMMIT DROP")
        db.copy_rows(dst, "decided", ["log_id", "kind", "status", "recorded_value", "suggested_value"], decided)
        return dst.execute(db.sql("challenger/triage_truth")).rowcount


def _figures(scratch: str, version: str, cut: int) -> dict:
    out: dict = {}
    with db.connect(scratch) as conn:
        rows = conn.execute(db.sql("challenger/scores"), {"model_version": version, "cut": cut}).fetchall()
    for family, found, truth, tp in rows:
        out[family] = {"findings": int(found), "truth": int(truth), "true_positives": int(tp)}
    found, truth, tp = (sum(v[k] for v in out.values()) for k in ("findings", "truth", "true_positives"))
    out["all"] = {"findings": found, "truth": truth, "true_positives": tp, **rates(found, truth, tp)}
    return out


def rates(found: int, truth: int, tp: int) -> dict:
    """Precision (no finding where nothing is wrong is right: 1.0) and recall (nothing to find: 1.0)."""
    precision = tp / found if found else (1.0 if not truth else 0.0)
    recall = tp / truth if truth else 1.0
    return {"precision": round(precision, 4), "recall": round(recall, 4)}


def compare(url: str, champion: ModelRef, challenger: ModelRef, part: Holdout, *, seed: int = 1) -> dict:
    """Both versions' finding precision and recall on the same hold-out with the same issues."""
    from . import corrupt, findings, scoring
    from .evaluate import scratch_dirs, throwaway_database

    with scratch_dirs(), throwaway_database(server=db.with_database(url, "postgres")) as scratch:
        copied = _copy_logs(url, scratch, part)
        _register(url, scratch, [champion.version, challenger.version])
        decided = _triage_truth(url, scratch, part)
        injected = corrupt.inject(scratch, rate=LEVEL_RATE, anomaly_rate=ANOMALY_RATE, seed=seed, batch=HOLDOUT,
                                  run="comparison")
        figures = {}
        for role, ref in (("champion", champion), ("challenger", challenger)):
            with db.transaction(scratch) as conn:  # scoring and findings serve the champion: make it this one
                conn.execute("UPDATE logintel.model_versions SET status = 'candidate' WHERE status = 'champion'")
                conn.execute("UPDATE logintel.model_versions SET status = 'champion' WHERE version = %s",
                             (ref.version,))
            scoring.score_all(scratch, run_key=f"compare-{role}")
            findings.record_findings(scratch, f"compare-{role}", model=ref)
            figures[role] = {"version": ref.version, **_figures(scratch, ref.version, part.cut)}
    log.info("compared %s and %s on %d hold-out logs (%d bytes copied)", champion.version, challenger.version,
             part.logs, copied)
    return {"holdout": part.as_dict(), "injected": {"levels": injected.levels_changed,
                                                    "flags": injected.flags_cleared, "triage": decided},
            **figures}


def better(comparison: dict, margin: float) -> tuple[bool, str]:
    """Is the challenger better by `margin`: finding precision first, then recall? And why."""
    old, new = comparison["champion"]["all"], comparison["challenger"]["all"]
    text = (f"on {comparison['holdout']['logs']:,} hold-out logs: precision {new['precision']:.3f} vs "
            f"{old['precision']:.3f}, recall {new['recall']:.3f} vs {old['recall']:.3f}")
    if new["precision"] > old["precision"] + margin:
        return True, f"better precision {text}"
    if new["precision"] >= old["precision"] - margin and new["recall"] > old["recall"] + margin:
        return True, f"better recall at the same precision {text}"
    return False, f"not better by {margin:.2f} {text}"


__all__ = ["Holdout", "holdout", "compare", "better", "rates", "LEVEL_RATE", "ANOMALY_RATE"]
