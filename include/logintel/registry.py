"""Model versions: registration, the champion, promotion.

Low in the layering (it needs only the database): training registers and promotes,
scoring and findings ask for the champion once per run and carry the answer along as a
:class:`ModelRef` (inside a :class:`logintel.scoring.ScoringRun`).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import psycopg

from . import db

PROMOTION_LOCK = 741_2002  # advisory lock key: one promotion decision at a time
PROMOTION_TOLERANCE = 0.01  # macro F1 points a new version may lose to noise and still win


class NoChampionError(RuntimeError):
    """No model version is champion yet."""


@dataclass(frozen=True)
class ModelRef:
    """A registered model version and its artifact (JSON-able for XCom)."""

    version: str
    artifact_path: str
    sha256: str

    def as_dict(self) -> dict:
        return asdict(self)


def champion(url: str) -> ModelRef | None:
    """The champion, or None."""
    with db.connect(url) as conn:
        row = conn.execute(db.sql("registry/champion")).fetchone()
    return ModelRef(*row) if row else None


def require_champion(url: str) -> ModelRef:
    ref = champion(url)
    if ref is None:
        raise NoChampionError("no champion model: run `logintel train` (or the log_training DAG) first")
    return ref


def model_ref(conn: psycopg.Connection, version: str) -> ModelRef:
    """The registered version `version` (KeyError if unknown)."""
    row = conn.execute(db.sql("registry/version"), {"version": version}).fetchone()
    if row is None:
        raise KeyError(f"model version {version!r} is not registered")
    return ModelRef(*row)


def existing(url: str, version: str) -> dict | None:
    """Status, decision, metrics and artifact of `version`, if it is registered already."""
    with db.connect(url) as conn:
        row = conn.execute(db.sql("registry/existing"), {"version": version}).fetchone()
    if row is None:
        return None
    status, decision, metrics, path, sha = row
    return {"status": status, "decision": decision or "", "metrics": metrics, "artifact_path": path, "sha256": sha}


def register(conn: psycopg.Connection, *, version: str, algorithm: str, params: dict, metrics: dict,
             training_rows: int, max_log_id: int, artifact_path: str, sha256: str, replace: bool = False) -> None:
    """Record a trained version as a candidate. A version registered already is kept as is, unless
    `replace` (its artifact was rebuilt): then its artifact, params and metrics are the new ones."""
    conn.execute(db.sql("registry/replace_artifact" if replace else "registry/register"), {
        "version": version, "algorithm": algorithm, "params": json.dumps(params, default=float),
        "metrics": json.dumps(metrics, default=float), "training_rows": int(training_rows),
        "max_log_id": int(max_log_id), "artifact_path": artifact_path, "sha256": sha256})


def _macro_f1(metrics: dict) -> float:
    return float(metrics.get("level", {}).get("macro_f1", metrics.get("macro_f1", 0.0)))


def promote(conn: psycopg.Connection, version: str, metrics: dict) -> tuple[str, str]:
    """Make `version` champion unless the current champion is better on held-out macro F1.

    Returns (status, decision); the decision is stored with the version."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (PROMOTION_LOCK,))
    champ = conn.execute(db.sql("registry/champion_metrics")).fetchone()
    new_f1 = _macro_f1(metrics)
    if champ:
        old_version, old_metrics = champ
        old_f1 = _macro_f1(old_metrics)
        if new_f1 + PROMOTION_TOLERANCE < old_f1:
            decision = f"kept {old_version}: held-out macro F1 {new_f1:.3f} < champion's {old_f1:.3f}"
            conn.execute(db.sql("registry/set_status"), {"version": version, "status": "candidate",
                                                          "decision": decision})
            return "candidate", decision
        conn.execute(db.sql("registry/set_status"), {"version": old_version, "status": "retired", "decision": None})
        decision = f"replaced {old_version}: held-out macro F1 {new_f1:.3f} vs {old_f1:.3f}"
    else:
        decision = f"first champion: held-out macro F1 {new_f1:.3f}"
    conn.execute(db.sql("registry/set_status"), {"version": version, "status": "champion", "decision": decision})
    return "champion", decision


__all__ = ["ModelRef", "NoChampionError", "champion", "require_champion", "model_ref", "existing", "register",
           "promote", "PROMOTION_TOLERANCE"]
