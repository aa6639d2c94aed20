"""Train the level and anomaly models on stored logs and register the version.

A version is named after the data it saw (max log id and row count), so training twice
on the same data registers nothing new. A candidate becomes champion only if its
held-out macro F1 is not worse than the champion's (with a small tolerance).
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

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def data_extent(url: str) -> tuple[int, int]:
    """(max log id, number of logs)."""
    with db.connect(url) as conn:
        hi, n = conn.execute(db.sql("training/data_extent")).fetchone()
    return int(hi), int(n)


def train_and_register(url: str, *, seed: int = 0, min_rows: int = 200,
                       max_rows: int | None = None) -> TrainResult:
    """Train on the stored logs (at most max_rows of them), register the version, promote it if it is not worse."""
    from . import frames, ml

    max_rows = int(max_rows or get_settings().train_max_rows)
    max_id, n_rows = data_extent(url)
    if n_rows < min_rows:
        raise ValueError(f"only {n_rows} logs stored; at least {min_rows} are needed to train")
    # confirmed corrections change the training data: they are part of the version's name
    with db.connect(url) as conn:
        corrections = int(conn.execute(db.sql("training/corrections_count")).fetchone()[0])
    version = f"v{max_id}-{n_rows}-s{seed}" + (f"-c{corrections}" if corrections else "")
    known = registry.existing(url, version)
    if known and _loads(known["artifact_path"], known["sha256"]):  # same data, same seed: the model exists
        return TrainResult(version, known["status"], known["decision"], known["metrics"], known["artifact_path"],
                           known["sha256"], created=False)
    # Memory stays bounded as the table grows: beyond max_rows, train on every k-th log.
    # (Template statistics for the findings are still counted over all logs, in SQL.)
    every = max(1, -(-n_rows // max_rows))
    with db.connect(url) as conn:
        df = frames.read_logs(conn, 0, max_id, every=every, corrected=True)  # triage corrections
    with cpu_threads():
        bundle, metrics = ml.train(df, seed=seed)
    del df
    path, sha = ml.save(bundle, get_settings().models_dir, version)
    params = {"seed": seed, **getattr(bundle, "params", {})}
    params.setdefault("false_anomaly_below", 0.02)
    with db.transaction(url) as conn:
        registry.register(conn, version=version, algorithm=ALGORITHM, params=params, metrics=metrics,
                          training_rows=int(metrics.get("training_rows", n_rows)), max_log_id=max_id,
                          artifact_path=str(path), sha256=sha, replace=bool(known))
        if known and known["status"] == "champion":
            status, decision = "champion", f"{known['decision']}; artifact rebuilt (the old one did not load)"
        else:
            status, decision = registry.promote(conn, version, metrics)
    log.info("model %s trained on %s (%s): %s", version, mask_url(url), status, decision)
    return TrainResult(version, status, decision, metrics, str(path), sha, created=True)


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
