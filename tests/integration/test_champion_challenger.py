"""Champion and challenger on a real PostgreSQL, GX and the real scoring/findings path: both judged
on the same recent logs neither trained on; a better challenger promoted, a worse one kept out,
too few new logs not compared; rollback by command and by DAG param; after a promotion the logs
are re-scored and finding groups carried over (one group, decisions stand, no second alert)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from airflow_runner import airflow_env, dags_test
from logintel import challenger, db, findings, registry, scoring, training, triage
from logintel.alerts import send_new_groups
from logintel.cli import EXIT_INPUT, main
from logintel.ingest import ingest_paths
from logintel.synthetic import generate, write_logs

START = datetime(2026, 1, 5, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def promoted(module_db, tmp_path_factory):
    """A champion trained while the source logged every line as INFO (a broken week), then the
    real levels back and a day of new logs: the challenger trained on the fixed data."""
    tmp = tmp_path_factory.mktemp("cc")
    history, later = tmp / "history.jsonl", tmp / "later.jsonl"
    write_logs(generate(8000, days=2, seed=3, start=START), history)
    write_logs(generate(8000, days=1, seed=4, start=START + timedelta(days=2)), later)
    ingest_paths([history], url=module_db)
    with db.transaction(module_db) as conn:
        conn.execute("CREATE TABLE public.real_levels AS SELECT id, level FROM logintel.logs")
        conn.execute("UPDATE logintel.logs SET level = 'INFO'")
    broken = training.train_and_register(module_db, seed=0)
    with db.transaction(module_db) as conn:
        conn.execute("UPDATE logintel.logs l SET level = r.level FROM public.real_levels r WHERE r.id = l.id")
    ingest_paths([later], url=module_db)
    fixed = training.train_and_register(module_db, seed=0)
    return {"url": module_db, "broken": broken, "fixed": fixed, "tmp": tmp}


@pytest.fixture
def restores_champion(promoted):
    """Tests that change the champion give it back (later tests must not inherit it)."""
    url = promoted["url"]
    before = registry.require_champion(url).version
    yield promoted
    with db.transaction(url) as conn:
        conn.execute("UPDATE logintel.model_versions SET status = 'retired' WHERE status = 'champion'")
        conn.execute("UPDATE logintel.model_versions SET status = 'champion' WHERE version = %s", (before,))


def _decisions(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT action, version, previous, champion_after, figures FROM logintel.model_decisions "
                            "ORDER BY id").fetchall()


def test_a_better_challenger_is_promoted_after_both_are_judged_on_the_same_recent_logs(promoted):
    url, broken, fixed = promoted["url"], promoted["broken"], promoted["fixed"]
    assert broken.status == "champion" and fixed.status == "champion", (broken.decision, fixed.decision)
    c = fixed.comparison
    assert c["champion"]["version"] == broken.version and c["challenger"]["version"] == fixed.version
    # the hold-out: the newest 30 % of the 8,000 logs since the champion's data, trained on by neither
    assert c["holdout"] == {"cut": 13600, "hi": 16000, "logs": 2400}
    with psycopg.connect(url) as conn:
        trained_on = dict(conn.execute("SELECT version, max_log_id FROM logintel.model_versions").fetchall())
    assert trained_on[broken.version] == 8000 and trained_on[fixed.version] == 13600
    assert c["injected"]["levels"] > 0  # the same issues for both (flags: only where the hold-out has any)
    for role in ("champion", "challenger"):  # the same truth for both
        assert c[role]["all"]["truth"] == c["injected"]["levels"] + c["injected"]["flags"]
    old, new = c["champion"]["all"], c["challenger"]["all"]
    assert new["precision"] > old["precision"] + 0.02, c
    assert "better precision" in fixed.decision and f"replaced {broken.version}" in fixed.decision
    decisions = _decisions(url)
    assert [d[:4] for d in decisions] == [("first", broken.version, None, broken.version),
                                          ("promoted", fixed.version, broken.version, fixed.version)]
    assert decisions[1][4]["challenger"]["all"] == new and decisions[1][4]["champion"]["all"] == old
    assert registry.require_champion(url).version == fixed.version
    from logintel.report.summary import collect

    shown = collect(url)["model_decisions"][0]  # `logintel summary` names the latest decision
    assert shown["action"] == "promoted" and "better precision" in shown["reason"]
    with psycopg.connect(url) as conn:  # the comparison ran in a scratch database: nothing of it here
        assert conn.execute("SELECT count(*) FROM logintel.injected_issues").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM logintel.ml_predictions").fetchone()[0] == 0


def test_a_worse_challenger_is_kept_out(restores_champion):
    url, broken, fixed = (restores_champion[k] for k in ("url", "broken", "fixed"))
    champ = registry.require_champion(url)
    worse = registry.ModelRef(broken.version, broken.artifact_path, broken.sha256)
    part = challenger.Holdout(**fixed.comparison["holdout"])
    comparison = challenger.compare(url, champ, worse, part, seed=1)
    assert comparison["challenger"]["all"]["precision"] < comparison["champion"]["all"]["precision"]
    with db.transaction(url) as conn:
        status, decision = registry.decide(conn, broken.version, broken.metrics, comparison=comparison)
    assert status == "candidate" and decision.startswith(f"kept {fixed.version}: not better")
    assert registry.require_champion(url).version == fixed.version
    assert _decisions(url)[-1][:4] == ("kept", broken.version, fixed.version, fixed.version)


def test_too_few_new_logs_leave_the_champion_without_a_comparison(restores_champion):
    url, fixed = restores_champion["url"], restores_champion["fixed"]
    again = training.train_and_register(url, seed=1)  # 2,400 logs since its data: a hold-out of 720
    assert again.status == "candidate" and again.comparison is None
    assert "not compared" in again.decision and "only 720 hold-out logs" in again.decision and "2,400 stored since" in again.decision
    assert registry.require_champion(url).version == fixed.version
    assert _decisions(url)[-1][0] == "not_compared"
    assert training.train_and_register(url, seed=1).created is False  # same data, same seed: nothing new


def test_rollback_is_one_command_and_one_dag_param(restores_champion, capsys):
    url, broken, fixed = (restores_champion[k] for k in ("url", "broken", "fixed"))
    assert main(["models", "rollback", "--by", "alice"]) == 0
    assert registry.require_champion(url).version == broken.version
    assert _decisions(url)[-1][:4] == ("rollback", broken.version, fixed.version, broken.version)
    capsys.readouterr()
    # the broken version was the first champion: there is nothing before it, a one-line error
    assert main(["models", "rollback"]) == EXIT_INPUT
    assert "no earlier champion" in capsys.readouterr().err
    assert main(["models", "promote", fixed.version, "--by", "bob", "--reason", "back"]) == 0
    assert registry.require_champion(url).version == fixed.version
    assert _decisions(url)[-1][:2] == ("manual", fixed.version)
    assert main(["models", "promote", "v-none"]) == EXIT_INPUT
    # the DAG param: log_training with rollback=true trains nothing and rolls back
    env = airflow_env(url, restores_champion["tmp"])
    versions_before = len(registry.versions(url))
    dags_test("log_training", env, conf=json.dumps({"rollback": True}))
    assert registry.require_champion(url).version == broken.version
    assert len(registry.versions(url)) == versions_before
    assert _decisions(url)[-1][:2] == ("rollback", broken.version) and _decisions(url)[-1][4] == {}


def test_after_a_promotion_the_logs_are_rescored_and_groups_carried_over(restores_champion, smtp_server,
                                                                          monkeypatch):
    url, fixed = restores_champion["url"], restores_champion["fixed"]
    controller, messages = smtp_server
    monkeypatch.setenv("AIRFLOW_CONN_LOGINTEL_ALERTS", json.dumps({
        "conn_type": "smtp", "host": "127.0.0.1", "port": controller.port,
        "extra": {"disable_tls": True, "disable_ssl": True, "from_email": "logintel@example.org",
                  "to": "oncall@example.org", "retry_limit": 1}}))
    with psycopg.connect(url) as conn:  # issues in the stored logs, for findings to carry over
        conn.execute("UPDATE logintel.logs SET level = 'INFO' WHERE id IN (SELECT id FROM logintel.logs "
                     "WHERE level = 'ERROR' ORDER BY md5(id::text) LIMIT 60)")
    scoring.score_all(url, run_key="before-promotion")
    findings.record_findings(url, "before-promotion")
    before = {g["group_id"]: g for g in findings.export_groups(url)}
    assert len(before) >= 3, before
    dismissed, confirmed = sorted(before)[:2]
    triage.decide(url, dismissed, "dismissed", "alice", note="noise")
    triage.decide(url, confirmed, "confirmed", "alice")
    first = send_new_groups(url, "alert-before", min_confidence=0.0)
    assert first.status == "sent" and first.groups == len(before) - 2  # the two decided groups are not open
    # another version becomes champion; the next scoring run re-scores every log with it
    other = training.train_and_register(url, seed=2)
    registry.set_champion(url, other.version, action="manual", reason="test", decided_by="test")
    rescored = scoring.score_all(url, run_key="after-promotion")
    with psycopg.connect(url) as conn:
        logs = conn.execute("SELECT count(*) FROM logintel.logs").fetchone()[0]
    assert rescored["scored"] == logs
    findings.record_findings(url, "after-promotion")
    after = {g["group_id"]: g for g in findings.export_groups(url)}
    kept = set(before) & set(after)
    assert len(kept) >= 3 and {dismissed, confirmed} <= kept  # the same groups, by id
    assert after[dismissed]["status"] == "dismissed" and after[confirmed]["status"] == "confirmed"
    assert other.version in after[dismissed]["model_versions"]
    every = findings.export_groups(url, all_versions=True)
    assert len({g["group_id"] for g in every}) == len(every)  # one row per group across both versions
    assert {fixed.version, other.version} <= set(",".join(g["model_versions"] for g in every).split(","))
    # no second alert for a group alerted under the previous champion
    second = send_new_groups(url, "alert-after", min_confidence=0.0)
    assert second.status == "nothing_new" or not (set(second.group_ids) & set(before)), second
    assert len(messages) == 1 + (second.status == "sent")
