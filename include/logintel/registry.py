"""Model versions: registration, the champion, promotion decisions, rollback.

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


def _record(conn: psycopg.Connection, action: str, version: str, previous: str | None, champion_after: str,
            reason: str, figures: dict | None, decided_by: str) -> None:
    conn.execute(db.sql("registry/record_decision"), {
        "action": action, "version": version, "previous": previous, "champion_after": champion_after,
        "reason": reason, "figures": json.dumps(figures or {}, default=float), "decided_by": decided_by})


def _make_champion(conn: psycopg.Connection, version: str, previous: str | None, decision: str) -> None:
    if previous:
        conn.execute(db.sql("registry/set_status"), {"version": previous, "status": "retired", "decision": None})
    conn.execute(db.sql("registry/set_status"), {"version": version, "status": "champion", "decision": decision})


def decide(conn: psycopg.Connection, version: str, metrics: dict, *, comparison: dict | None = None,
           not_compared: str | None = None, margin: float = 0.02, decided_by: str = "training") -> tuple[str, str]:
    """Champion or not, for a newly trained `version`; the decision and its figures are recorded.

    No champion yet: `version` becomes the first. Otherwise `comparison` (challenger.compare: both
    versions on the same hold-out) decides: promoted only when better by `margin`, finding
    precision first, then recall (challenger.better). Without a comparison (`not_compared` says
    why) the version stays a candidate. Returns (status, decision)."""
    from .challenger import better

    conn.execute("SELECT pg_advisory_xact_lock(%s)", (PROMOTION_LOCK,))
    champ = conn.execute(db.sql("registry/champion_metrics")).fetchone()
    old = champ[0] if champ else None
    if old is None:
        decision = f"first champion: held-out macro F1 {_macro_f1(metrics):.3f}"
        _make_champion(conn, version, None, decision)
        _record(conn, "first", version, None, version, decision, None, decided_by)
        return "champion", decision
    if old == version:
        return "champion", "already champion"
    if comparison is not None and comparison["champion"]["version"] != old:
        comparison, not_compared = None, f"the champion changed to {old} during the comparison"
    if comparison is None:
        decision = f"kept {old}: not compared ({not_compared or 'no comparison'})"
        action, status = "not_compared", "candidate"
    else:
        wins, why = better(comparison, margin)
        action, status = ("promoted", "champion") if wins else ("kept", "candidate")
        decision = f"{'replaced' if wins else 'kept'} {old}: {why}"
    if status == "champion":
        _make_champion(conn, version, old, decision)
    else:
        conn.execute(db.sql("registry/set_status"), {"version": version, "status": "candidate", "decision": decision})
    _record(conn, action, version, old, version if status == "champion" else old, decision, comparison, decided_by)
    return status, decision


def set_champion(url: str, version: str, *, action: str, reason: str, decided_by: str) -> dict:
    """Make a registered `version` champion by hand (`manual`) or as a rollback (`rollback`);
    its artifact must load. Returns the decision."""
    from . import ml

    with db.transaction(url) as conn:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (PROMOTION_LOCK,))
        ref = model_ref(conn, version)
        ml.load(ref.artifact_path, ref.sha256)  # ArtifactError: a champion nobody can load is no champion
        champ = conn.execute(db.sql("registry/champion_metrics")).fetchone()
        old = champ[0] if champ else None
        if old == version:
            raise ValueError(f"{version} is the champion already")
        decision = f"{action} by {decided_by}: {reason}" + (f" (replaced {old})" if old else "")
        _make_champion(conn, version, old, decision)
        _record(conn, action, version, old, version, decision, None, decided_by)
    return {"action": action, "champion": version, "previous": old, "decision": decision}


def rollback(url: str, decided_by: str = "cli") -> dict:
    """The champion before the current one becomes champion again (one step back per call)."""
    with db.connect(url) as conn:
        row = conn.execute(db.sql("registry/rollback_target")).fetchone()
    if row is None:
        raise ValueError("no earlier champion to roll back to: the current champion was never promoted over another")
    return set_champion(url, row[0], action="rollback", reason="rolled back to the previous champion",
                        decided_by=decided_by)


def decisions(url: str, limit: int = 20) -> list[dict]:
    with db.connect(url) as conn:
        return db.query(conn, "registry/decisions", {"limit": int(limit)})


def versions(url: str) -> list[dict]:
    with db.connect(url) as conn:
        return db.query(conn, "registry/versions")


__all__ = ["ModelRef", "NoChampionError", "champion", "require_champion", "model_ref", "existing", "register",
           "decide", "set_champion", "rollback", "decisions", "versions"]
