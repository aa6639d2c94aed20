"""The issue simulator: inject classic production problems into stored logs, keeping the truth.

Schemes: `reference` (ERROR->INFO, a quarter ERROR->WARN, WARN->DEBUG, FATAL->DEBUG) and
`adjacent` (one step down) corrupt `rate` x the WARN-or-worse lines, chosen at random;
`callsite` demotes every line of randomly chosen templates until about `rate` x all lines.
Anomaly flags: `anomaly_rate` (default: `rate`) x the flagged lines are cleared.
With `batch` (an ingest batch id, or "latest") only the logs of that batch are touched and
the rates are shares of that batch: issues in newly arrived logs, for the new-logs protocol.
The same run key never injects twice, so the task is idempotent.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from . import db

SCHEMES = ("reference", "adjacent", "callsite")
_DEMOTE_CALLSITE = {"FATAL": "ERROR", "ERROR": "WARN", "WARN": "INFO", "INFO": "DEBUG"}


@dataclass
class InjectResult:
    run: str
    scheme: str
    rate: float
    levels_changed: int
    flags_cleared: int
    already_done: bool = False
    batch: int | None = None

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def inject(url: str, *, rate: float = 0.03, scheme: str = "reference", seed: int = 1,
           anomaly_rate: float | None = None, run: str | None = None,
           batch: int | str | None = None) -> InjectResult:
    if scheme not in SCHEMES:
        raise ValueError(f"unknown scheme {scheme!r}; choose one of {', '.join(SCHEMES)}")
    if not 0 <= rate <= 1:
        raise ValueError(f"rate must be between 0 and 1, got {rate}")
    anomaly_rate = rate if anomaly_rate is None else anomaly_rate
    with db.transaction(url) as conn:
        conn.execute("SELECT pg_advisory_xact_lock(7412003)")
        batch = _batch_id(conn, batch)
        run = run or f"{scheme}-{rate}-{seed}" + ("" if batch is None else f"-b{batch}")
        done = conn.execute(db.sql("corrupt/run_counts"), {"run": run}).fetchone()
        if done[0] or done[1]:
            return InjectResult(run, scheme, rate, done[0], done[1], already_done=True, batch=batch)
        total, severe, flagged = conn.execute(db.sql("corrupt/log_counts"), {"batch": batch}).fetchone()
        if scheme == "callsite":
            levels = _inject_callsite(conn, rate, seed, run, batch, total)
        else:
            # The rate is a share of the lines that can be demoted (WARN or worse), so a sample
            # with few such lines still keeps most of them right.
            levels = conn.execute(db.sql("corrupt/levels"), {"seed": seed, "n": round(rate * severe),
                                                            "scheme": scheme, "run": run,
                                                            "batch": batch}).rowcount
        flags = conn.execute(db.sql("corrupt/anomaly_flags"), {"seed": seed, "n": round(anomaly_rate * flagged),
                                                              "scheme": scheme, "run": run,
                                                              "batch": batch}).rowcount
    return InjectResult(run, scheme, rate, levels, flags, batch=batch)


def _batch_id(conn, batch: int | str | None) -> int | None:
    """None (all logs), a batch id, or "latest" (the newest batch that loaded logs)."""
    if batch is None or batch == "":
        return None
    if str(batch).lower() == "latest":
        latest = conn.execute(db.sql("corrupt/latest_batch")).fetchone()[0]
        if latest is None:
            raise ValueError("no ingest batch has loaded logs yet: nothing to inject into")
        return int(latest)
    try:
        return int(batch)
    except ValueError:
        raise ValueError(f"batch must be an ingest batch id or 'latest', got {batch!r}") from None


def _inject_callsite(conn, rate: float, seed: int, run: str, batch: int | None, total: int) -> int:
    """Demote every line of pseudo-randomly chosen templates (INFO or worse) until ~rate of all lines
    (of the batch when one is given)."""
    from . import frames
    from .masking import MASKER_VERSION
    from .ml.features import frame_template_keys

    df = frames.read_frame(conn, db.sql("corrupt/callsite_candidates"),
                           {"batch": batch, "masker_version": MASKER_VERSION},
                           dtypes={"id": "int64", "level": "str", "message": "str", "template_id": "int64",
                                   "template_key": "str"})
    if df.empty:
        return 0
    df["template"] = frame_template_keys(df)  # the catalog's keys; masked only where a line has none
    # A call site has one level: take each template's majority level as its own.
    major = df.groupby("template")["level"].agg(lambda s: s.value_counts().index[0])
    sizes = df.groupby("template").size()
    order = sorted(sizes.index, key=lambda t: hashlib.md5(f"{seed}:{t}".encode()).hexdigest())
    target, chosen, covered = rate * total, [], 0
    for t in order:
        if covered >= target:
            break
        if sizes[t] > 0.5 * target + 1:  # one huge template would blow the rate
            continue
        chosen.append(t)
        covered += int(sizes[t])
    pick = df[df["template"].isin(chosen) & (df["level"] == df["template"].map(major))]
    if pick.empty:
        return 0
    rows = [(int(i), run, "callsite", "level", lvl, _DEMOTE_CALLSITE[lvl])
            for i, lvl in zip(pick["id"], pick["level"])]
    db.copy_rows(conn, "logintel.injected_issues",
                 ["log_id", "injection_run", "scheme", "kind", "original_level", "injected_level"], rows)
    return conn.execute(db.sql("corrupt/apply_levels"), {"run": run}).rowcount


__all__ = ["inject", "SCHEMES"]
