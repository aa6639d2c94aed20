"""Triage: confirm or dismiss a finding group (a call site, an episode) or a single finding.

A group decision stands: it is stored in `group_decisions` and applied to every finding of the
group, of every model version; later findings runs file new lines of a dismissed group as
dismissed (sql/findings/insert.sql). Confirmed level findings become label corrections
(`v_label_corrections`), which training reads instead of the recorded level.
"""
from __future__ import annotations

import re

from . import db

DECISIONS = ("confirmed", "dismissed", "open")
GROUP_ID = re.compile(r"^[0-9a-f]{12}$")


def decide(url: str, target: str, decision: str, by: str, note: str | None = None) -> dict:
    """Record `decision` on a group id (12 hex digits) or a finding id (an integer)."""
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {', '.join(DECISIONS)}, got {decision!r}")
    if not by.strip():
        raise ValueError("a decision needs who made it")
    target = target.strip().lower()
    params = {"decision": decision, "by": by, "note": note}
    with db.transaction(url) as conn:
        conn.execute(db.sql("triage/backfill_group_ids"))
        if GROUP_ID.match(target):
            if not conn.execute(db.sql("triage/group_exists"), {"group_id": target}).fetchone()[0]:
                raise ValueError(f"no finding group {target} (see `logintel findings --groups`)")
            # one statement per table, in one transaction: two people at once leave one whole decision
            conn.execute(db.sql("triage/decide_group"), {**params, "group_id": target})
            n = conn.execute(db.sql("triage/apply_group"), {**params, "group_id": target}).rowcount
            return {"group_id": target, "decision": decision, "findings": n, "by": by}
        if target.isdigit():
            rows = conn.execute(db.sql("triage/decide_finding"), {**params, "finding_id": int(target)}).fetchall()
            if not rows:
                raise ValueError(f"no finding {target} (see `logintel findings`)")
            return {"finding_id": int(target), "decision": decision, "findings": 1, "by": by}
    raise ValueError(f"{target!r} is neither a group id (12 hex digits) nor a finding id (a number)")


__all__ = ["DECISIONS", "decide"]
