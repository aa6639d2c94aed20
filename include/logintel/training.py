"""Train the level and anomaly models on stored logs and register the version.

A version is named after the data it saw (max log id and row count), so training twice
on the same data registers nothing new. A candidate becomes champion only if its
held-out macro F1 is not worse than the champion's (with a small tolerance).
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from . import db
from .settings import cpu_threads, get_settings

log = logging.getLogger(__name__)
PROMOTION_TOLERANCE = 0.01  # macro F1 points a new version may lose to noise and still win
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
    with db.connect(url) as conn:
        lo, hi, n = conn.execute(
            "SELECT coalesce(min(id), 0), coalesce(max(id), 0), count(*) FROM logintel.logs").fetchone()
    return int(hi), int(n)


def train(url: str | None = None, *, seed: int = 0, min_rows: int = 200, max_rows: int | None = None) -> TrainResult:
    from . import frames, model

    url = url or db.database_url()
    max_rows = int(max_rows or get_settings().train_max_rows)
    max_id, n_rows = data_extent(url)
    if n_rows < min_rows:
        raise ValueError(f"only {n_rows} logs stored; at least {min_rows} are needed to train")
    version = f"v{max_id}-{n_rows}-s{seed}"
    with db.connect(url) as conn:
        row = conn.execute("SELECT status, decision, metrics, artifact_path, artifact_sha256 "
                           "FROM logintel.model_versions WHERE version = %s", (version,)).fetchone()
    if row:  # same data, same seed: the model exists already
        return TrainResult(version, row[0], row[1] or "", row[2], row[3], row[4], created=False)
    # Memory stays bounded as the table grows: beyond max_rows, train on every k-th log.
    # (Template statistics for the findings are still counted over all logs, in SQL.)
    every = max(1, -(-n_rows // max_rows))
    with db.connect(url) as conn:
        df = frames.read_logs(conn, 0, max_id, every=every)
    with cpu_threads():
        bundle, metrics = model.train(df, seed=seed)
    del df
    path, sha = model.save(bundle, get_settings().models_dir, version)
    params = {"seed": seed, **getattr(bundle, "params", {})}
    params.setdefault("false_anomaly_below", 0.02)
    with db.transaction(url) as conn:
        conn.execute(
            """INSERT INTO logintel.model_versions (version, algorithm, params, metrics, training_rows,
                   max_log_id, artifact_path, artifact_sha256)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (version) DO NOTHING""",
            (version, ALGORITHM, json.dumps(params, default=float), json.dumps(metrics, default=float),
             int(metrics.get("training_rows", n_rows)), max_id, str(path), sha))
        status, decision = _promote(conn, version, metrics)
    return TrainResult(version, status, decision, metrics, str(path), sha, created=True)


def _promote(conn, version: str, metrics: dict) -> tuple[str, str]:
    """Make `version` champion unless the current champion is better on held-out macro F1."""
    conn.execute("SELECT pg_advisory_xact_lock(7412002)")
    champ = conn.execute("SELECT version, metrics FROM logintel.model_versions WHERE status = 'champion'").fetchone()
    new_f1 = float(metrics.get("level", {}).get("macro_f1", metrics.get("macro_f1", 0.0)))
    if champ:
        old_f1 = float(champ[1].get("level", {}).get("macro_f1", champ[1].get("macro_f1", 0.0)))
        if new_f1 + PROMOTION_TOLERANCE < old_f1:
            decision = f"kept {champ[0]}: held-out macro F1 {new_f1:.3f} < champion's {old_f1:.3f}"
            conn.execute("UPDATE logintel.model_versions SET decision = %s WHERE version = %s", (decision, version))
            return "candidate", decision
        conn.execute("UPDATE logintel.model_versions SET status = 'retired' WHERE version = %s", (champ[0],))
        decision = f"replaced {champ[0]}: held-out macro F1 {new_f1:.3f} vs {old_f1:.3f}"
    else:
        decision = f"first champion: held-out macro F1 {new_f1:.3f}"
    conn.execute("UPDATE logintel.model_versions SET status = 'champion', decision = %s WHERE version = %s",
                 (decision, version))
    return "champion", decision


def champion(url: str) -> tuple[str, str, str] | None:
    """(version, artifact path, sha256) of the champion, or None."""
    with db.connect(url) as conn:
        return conn.execute("SELECT version, artifact_path, artifact_sha256 FROM logintel.model_versions "
                            "WHERE status = 'champion'").fetchone()
