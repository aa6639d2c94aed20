"""Scoring coverage: how much of what arrived the champion has scored, the oldest log still
waiting, and each run's scoring lag; taken after every scoring run (``sql/coverage/``) and
checked by the GX coverage suite (``quality.run.validate_coverage``), so a stalled pipeline is a
failed validation in ``dq_runs`` and Data Docs, not a silence."""
from __future__ import annotations

from . import db

__all__ = ["CoverageError", "take_snapshot", "check", "latest", "history", "run_id_of"]


class CoverageError(RuntimeError):
    """The coverage suite failed: too few logs scored, or one has waited too long."""


def take_snapshot(url: str, run_id: int, unanalyzed: int = 0) -> list[dict]:
    """Record the coverage of scoring run `run_id` (again: replaced) and return it per service.
    `unanalyzed`: predictions written since ml_predictions was last analyzed (taken while the run's
    ANALYZE may still be going on: the hash's memory must count them)."""
    with db.transaction(url) as conn:
        run = db.query_one(conn, "drift/run", {"run_id": int(run_id)})
        if run is not None:  # (no run: nothing to record, as before)
            # the version's scored ids are hashed once: in memory, not in batches on disk
            estimate = predictions_estimate(conn) + max(0, int(unanalyzed))
            conn.execute("SELECT set_config('work_mem', %s, true)", (hash_work_mem(estimate),))
            conn.execute(db.sql("coverage/snapshot"), {"run_id": int(run_id), "model_version": run["model_version"]})
    with db.connect(url) as conn:
        return latest(conn)


# bytes a hashed id takes in the planner's estimate (tuple and hash entry), with room to spare
_HASHED_ID_BYTES = 64


def predictions_estimate(conn) -> float:
    """The planner's count of ml_predictions rows (every version: an upper bound of one's)."""
    return float(conn.execute(db.sql("coverage/predictions_estimate")).fetchone()[0])


def hash_work_mem(predictions: float, floor_mb: int = 256) -> str:
    """work_mem for the snapshot: enough for the planner to hash the version's scored ids. It
    hashes a NOT IN set only when rows x 32 bytes (an id and a tuple header) fit in work_mem x
    hash_mem_multiplier; otherwise it scans the set again for every log (quadratic: hours at 1M).
    With a fixed 256MB that cliff sat at about 16M predictions. The memory used is the hash's real
    size, not this setting."""
    need_mb = -(-int(predictions) * _HASHED_ID_BYTES // 2**20)
    return f"{max(floor_mb, min(need_mb, 64 * 1024))}MB"


def check(url: str, run_id: int, run_key: str) -> dict:
    """Snapshot, then the coverage suite; raises CoverageError (after recording the run in
    dq_runs) when it fails."""
    from .quality.run import validate_coverage

    rows = take_snapshot(url, run_id)
    run = validate_coverage(url, run_key)
    result = {"success": run.success, "services": rows, "data_docs": run.data_docs}
    if not run.success:
        shares = [f"{r['service'] or '-'} {r['coverage']:.1%}" for r in rows]
        raise CoverageError(f"scoring coverage check failed ({', '.join(shares)}; see dq_runs suite "
                            f"{run.suite} and Data Docs)")
    return result


def run_id_of(url: str, run_key: str) -> int | None:
    with db.connect(url) as conn:
        row = db.query_one(conn, "coverage/run_id", {"run_key": run_key})
    return int(row["id"]) if row else None


def latest(conn) -> list[dict]:
    """The latest run's coverage per service (empty before the first scoring run)."""
    return db.query(conn, "coverage/latest")


def history(conn, limit: int = 20) -> list[dict]:
    """Coverage and scoring lag per run, newest first."""
    return db.query(conn, "coverage/history", {"limit": int(limit)})
