"""Train the level and anomaly models on stored logs and register the version.

A version is named after the data it saw (max log id and row count), so training twice
on the same data registers nothing new. With a champion in place a new version is a
challenger: judged with the champion on the same recent logs neither trained on, and
promoted only when better by a margin (challenger.py, registry.decide).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from . import db, registry
from .settings import cpu_threads, get_settings, mask_url

log = logging.getLogger(__name__)
ALGORITHM = "masked-template tfidf+logreg (out-of-group) / gradient-boosted anomaly model"


@dataclass
class TrainResult:
    version: str
    status: str
    decision: str
    metrics: dict
    artifact_path: str
    sha256: str
    created: bool
    comparison: dict | None = None  # champion and challenger on the same hold-out (challenger.compare)

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def data_extent(url: str) -> tuple[int, int]:
    """(max log id, number of logs)."""
    with db.connect(url) as conn:
        hi, n = conn.execute(db.sql("training/data_extent")).fetchone()
    return int(hi), int(n)


def train_and_register(url: str, *, seed: int = 0, min_rows: int = 200,
                       max_rows: int | None = None) -> TrainResult:
    """Train on the stored logs (at most max_rows of them) and register the version.

    With no champion it trains on every log and becomes the first. With a champion it is a
    challenger: it trains on the logs up to a chronological hold-out (the newest
    LOGINTEL_HOLDOUT_SHARE of the logs since the champion's data), both are judged on that
    hold-out (challenger.compare) and it is promoted only when better by LOGINTEL_PROMOTION_MARGIN.
    Too few new logs for a hold-out: it trains on everything and stays a candidate."""
    from . import challenger, frames, history_stats, ml

    settings = get_settings()
    max_rows = int(max_rows or settings.train_max_rows)
    max_id, n_rows = data_extent(url)
    champ = _champion_extent(url)
    part, not_compared, cut = None, None, max_id
    if champ is not None:
        part, new_logs = challenger.holdout(url, champ[3], max_id, settings.holdout_share)
        if part.logs >= settings.min_holdout_logs:
            cut = part.cut
            with db.connect(url) as conn:
                n_rows = int(conn.execute(db.sql("training/rows_upto"), {"hi": cut}).fetchone()[0])
        else:
            not_compared = (f"only {part.logs:,} hold-out logs (the newest {settings.holdout_share:.0%} of the "
                            f"{new_logs:,} stored since its training data); at least "
                            f"{settings.min_holdout_logs:,} are needed")
            part = None
    if n_rows < min_rows:
        raise ValueError(f"only {n_rows} logs stored; at least {min_rows} are needed to train")
    # confirmed corrections change the training data: they are part of the version's name
    with db.connect(url) as conn:
        corrections = int(conn.execute(db.sql("training/corrections_count")).fetchone()[0])
    version = f"v{cut}-{n_rows}-s{seed}" + (f"-c{corrections}" if corrections else "")
    known = registry.existing(url, version)
    if known and _loads(known["artifact_path"], known["sha256"]):  # same data, same seed: the model exists
        return TrainResult(version, known["status"], known["decision"], known["metrics"], known["artifact_path"],
                           known["sha256"], created=False)
    # Memory stays bounded as the table grows: beyond max_rows, train on every k-th log.
    # (Template statistics for the findings are still counted over all logs, in SQL.)
    every = max(1, -(-n_rows // max_rows))
    with db.connect(url) as conn:
        df = frames.read_logs(conn, 0, cut, every=every, corrected=True)  # triage corrections
    # every history line in hand: the findings' history statistics come from it (history_stats.py)
    history = history_stats.history_columns(df) if every == 1 else None
    with cpu_threads():
        bundle, metrics = ml.train(df, seed=seed)
    del df
    path, sha = ml.save(bundle, settings.models_dir, version)
    params = {"seed": seed, **getattr(bundle, "params", {})}
    with db.transaction(url) as conn:
        registry.register(conn, version=version, algorithm=ALGORITHM, params=params, metrics=metrics,
                          training_rows=int(metrics.get("training_rows", n_rows)), max_log_id=cut,
                          artifact_path=str(path), sha256=sha, replace=bool(known))
        if history is not None:
            history_stats.store(conn, version, history, cut)
    del history
    comparison = None
    if known and known["status"] == "champion":
        status, decision = "champion", f"{known['decision']}; artifact rebuilt (the old one did not load)"
    else:
        if part is not None and champ is not None and champ[0] != version:
            comparison = challenger.compare(url, registry.ModelRef(*champ[:3]), registry.ModelRef(version, str(path), sha),
                                            part, seed=seed + 1)
        with db.transaction(url) as conn:
            status, decision = registry.decide(conn, version, metrics, comparison=comparison,
                                               not_compared=not_compared, margin=settings.promotion_margin)
    log.info("model %s trained on %s (%s): %s", version, mask_url(url), status, decision)
    return TrainResult(version, status, decision, metrics, str(path), sha, created=True, comparison=comparison)


def _champion_extent(url: str) -> tuple[str, str, str, int] | None:
    """(version, artifact path, sha256, last log id it trained on) of the champion, or None."""
    with db.connect(url) as conn:
        row = conn.execute(db.sql("registry/champion_extent")).fetchone()
    return None if row is None else (row[0], row[1], row[2], int(row[3]))


def _loads(path: str, sha256: str) -> bool:
    """Does the registered artifact still load? (Missing, tampered or of an older bundle format: no,
    and training the same version again rebuilds it instead of keeping a champion nobody can load.)"""
    from . import ml

    try:
        ml.load(path, sha256)
    except ml.ArtifactError as exc:
        log.warning("%s: training again", exc)
        return False
    return True
