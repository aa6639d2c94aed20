"""Triage on the real path: groups confirmed or dismissed (who, when, note), a dismissed group
stays dismissed in later runs, and confirmed level findings become label corrections for training."""
from __future__ import annotations

from datetime import datetime, timezone

import psycopg
import pytest

from logintel import corrupt, findings, scoring, training, triage
from logintel.ingest import ingest_paths
from logintel.synthetic import generate, write_logs


@pytest.fixture
def found(fresh_db, tmp_path):
    path = tmp_path / "logs.jsonl"
    write_logs(generate(4000, days=1, seed=21, start=datetime(2026, 1, 5, tzinfo=timezone.utc)), path)
    ingest_paths([path], url=fresh_db)
    corrupt.inject(fresh_db, rate=0.05, scheme="reference", seed=1)
    training.train_and_register(fresh_db, seed=1)
    scoring.score_all(fresh_db, run_key="t1")
    findings.record_findings(fresh_db, "t1")
    groups = [g for g in findings.export_groups(fresh_db) if g["kind"].startswith("level_")]
    assert len(groups) >= 2
    return fresh_db, groups


def _statuses(url, group_id):
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT status, decided_by, note FROM logintel.dq_findings WHERE group_id = %s",
                            (group_id,)).fetchall()


def test_a_dismissed_group_stays_dismissed_in_later_runs(found):
    url, groups = found
    g = groups[0]
    result = triage.decide(url, g["group_id"], "dismissed", "alice", "two call sites, both right")
    assert result["findings"] == g["findings"]
    assert set(_statuses(url, g["group_id"])) == {("dismissed", "alice", "two call sites, both right")}
    # a later run of the findings (new predictions would be filed the same way) keeps the decision
    with psycopg.connect(url) as conn:
        conn.execute("DELETE FROM logintel.dq_findings WHERE group_id = %s", (g["group_id"],))
    findings.record_findings(url, "t2")
    again = _statuses(url, g["group_id"])
    assert len(again) == g["findings"] and {s for s, _, _ in again} == {"dismissed"}
    after = {x["group_id"]: x for x in findings.export_groups(url)}
    assert after[g["group_id"]]["status"] == "dismissed"
    triage.decide(url, g["group_id"], "open", "bob")
    assert {s for s, _, _ in _statuses(url, g["group_id"])} == {"open"}


def test_confirmed_level_findings_become_label_corrections_for_training(found):
    url, groups = found
    g = groups[0]
    triage.decide(url, g["group_id"], "confirmed", "alice")
    with psycopg.connect(url) as conn:
        corrections = conn.execute("SELECT log_id, corrected_level FROM logintel.v_label_corrections").fetchall()
        levels = dict(conn.execute("SELECT id, level FROM logintel.logs WHERE id = ANY(%s)",
                                   ([c[0] for c in corrections],)).fetchall())
    assert len(corrections) == g["findings"]
    assert all(lvl == g["suggested_value"] for _, lvl in corrections)
    assert all(levels[i] == g["recorded_value"] for i, _ in corrections)  # the stored log is never overwritten
    retrained = training.train_and_register(url, seed=1)
    assert retrained.version.endswith(f"-c{len(corrections)}")  # new training data, new version


def test_a_finding_can_be_decided_alone_and_bad_targets_are_clear_errors(found):
    url, groups = found
    with psycopg.connect(url) as conn:
        fid = conn.execute("SELECT id FROM logintel.dq_findings WHERE group_id = %s LIMIT 1",
                           (groups[1]["group_id"],)).fetchone()[0]
    assert triage.decide(url, str(fid), "confirmed", "carol")["findings"] == 1
    statuses = [s for s, _, _ in _statuses(url, groups[1]["group_id"])]
    assert statuses.count("confirmed") == 1
    with pytest.raises(ValueError, match="no finding group"):
        triage.decide(url, "0123456789ab", "dismissed", "alice")
    with pytest.raises(ValueError, match="no finding 999999"):
        triage.decide(url, "999999", "dismissed", "alice")
    with pytest.raises(ValueError, match="neither a group id"):
        triage.decide(url, "not-an-id", "dismissed", "alice")


def test_two_people_triaging_one_group_at_once_leave_one_whole_decision(found):
    """Both decisions are provably in flight together (held behind a row lock the test owns, and
    seen waiting in pg_stat_activity); when it is released, one decision wins, whole: the group's
    standing decision and every one of its findings say the same, by the same person."""
    import threading
    import time

    url, groups = found
    g = groups[0]
    triage.decide(url, g["group_id"], "open", "setup")
    errors: list[BaseException] = []

    def decide(decision, by):
        try:
            triage.decide(url, g["group_id"], decision, by, f"{by} says {decision}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    with psycopg.connect(url) as holder:
        holder.execute("SELECT 1 FROM logintel.group_decisions WHERE group_id = %s FOR UPDATE", (g["group_id"],))
        threads = [threading.Thread(target=decide, args=args) for args in (("confirmed", "alice"), ("dismissed", "bob"))]
        for t in threads:
            t.start()
        deadline = time.time() + 30
        while time.time() < deadline:
            with psycopg.connect(url, autocommit=True) as watcher:
                waiting = watcher.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' "
                    "AND query LIKE '%%group_decisions%%'").fetchone()[0]
            if waiting == 2:
                break
            time.sleep(0.2)
        assert waiting == 2, "both decisions must be waiting on the group at once"
        holder.rollback()  # release: the two run against each other now
    for t in threads:
        t.join(60)
    assert not errors, errors
    with psycopg.connect(url) as conn:
        decision, by, note = conn.execute("SELECT decision, decided_by, note FROM logintel.group_decisions "
                                          "WHERE group_id = %s", (g["group_id"],)).fetchone()
        findings_state = set(conn.execute("SELECT status, decided_by, note FROM logintel.dq_findings "
                                          "WHERE group_id = %s", (g["group_id"],)).fetchall())
    assert (decision, by) in {("confirmed", "alice"), ("dismissed", "bob")}
    assert findings_state == {(decision, by, note)}


def test_a_decision_is_all_or_nothing(found, monkeypatch):
    """A decision that fails halfway (between the group's standing decision and its findings) leaves
    neither changed: the two writes are one transaction, so no reader sees half a decision."""
    from logintel import db

    url, groups = found
    g = groups[0]
    before = _statuses(url, g["group_id"])
    real = db.sql

    def failing(name):
        return "SELECT 1/0" if name == "triage/apply_group" else real(name)

    monkeypatch.setattr(db, "sql", failing)
    with pytest.raises(psycopg.errors.DivisionByZero):
        triage.decide(url, g["group_id"], "dismissed", "alice")
    monkeypatch.undo()
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM logintel.group_decisions WHERE group_id = %s",
                            (g["group_id"],)).fetchone()[0] == 0
    assert _statuses(url, g["group_id"]) == before
