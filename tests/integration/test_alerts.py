"""Alerts, once: a digest of the new open finding groups through Airflow notifiers, against a real
SMTP server (aiosmtpd) and a real HTTP receiver on 127.0.0.1; nothing re-sent, a failing
notifier harmless and recorded, its groups tried again by the next run."""
from __future__ import annotations

import json
import threading

import psycopg
import pytest

from logintel.alerts import send_new_groups
from test_report import HOSTILE, seed_findings

CONN_VAR = "AIRFLOW_CONN_LOGINTEL_ALERTS"


@pytest.fixture
def seeded(fresh_db):
    return {"url": fresh_db, **seed_findings(fresh_db)}


def _add_finding(url: str, log_id: int, kind: str, recorded: str, suggested: str, confidence: float) -> None:
    with psycopg.connect(url) as conn:
        conn.execute("""INSERT INTO logintel.dq_findings (log_id, run_key, kind, recorded_value, suggested_value,
                                                          confidence, reason, model_version)
                        VALUES (%s, 'run-2', %s, %s, %s, %s, 'new', 'v1')""",
                     (log_id, kind, recorded, suggested, confidence))


def _alerts(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT status, groups, channel, error IS NOT NULL FROM logintel.alerts ORDER BY id").fetchall()


def test_a_digest_by_email_once_per_group(seeded, smtp_server, monkeypatch):
    controller, messages = smtp_server
    monkeypatch.setenv(CONN_VAR, json.dumps({
        "conn_type": "smtp", "host": "127.0.0.1", "port": controller.port,
        "extra": {"disable_tls": True, "disable_ssl": True, "from_email": "logintel@example.org",
                  "to": "oncall@example.org", "retry_limit": 1}}))
    url = seeded["url"]
    first = send_new_groups(url, "run-1")
    # the champion's groups at confidence >= 0.9: hostile INFO->ERROR 0.97, disk DEBUG->FATAL 0.95, login 0.91
    assert first.status == "sent" and first.groups == 3 and first.channel == "smtp", first
    (mail,) = messages
    assert mail["To"] == "oncall@example.org" and mail["Subject"] == "Logintel: 3 new finding groups (3 lines)"
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert "DEBUG → FATAL" in html and "tpl-1" in html
    assert HOSTILE not in html and "&lt;script&gt;" in html  # messages are escaped in the mail too
    assert "http://localhost:8080/plugin/logintel" in html
    # nothing new: nothing sent
    assert send_new_groups(url, "run-2").status == "nothing_new" and len(messages) == 1
    # a new group: only it is sent
    _add_finding(url, seeded["log_ids"][4], "level_understated", "INFO", "ERROR", 0.96)
    second = send_new_groups(url, "run-3")
    assert second.status == "sent" and second.groups == 1 and len(messages) == 2
    assert messages[1]["Subject"] == "Logintel: 1 new finding group (1 lines)"
    assert _alerts(url) == [("sent", 3, "smtp", False), ("sent", 1, "smtp", False)]


def test_a_webhook_digest_a_failing_notifier_is_recorded_and_retried(seeded, webhook_receiver, monkeypatch):
    receiver = webhook_receiver
    url = seeded["url"]
    monkeypatch.setenv(CONN_VAR, json.dumps({"conn_type": "http", "host": receiver["url"], "password": "s3cret"}))
    receiver["status"] = 500
    failed = send_new_groups(url, "run-1")
    assert failed.status == "failed" and "500" in failed.error and failed.groups == 3
    assert _alerts(url) == [("failed", 3, "webhook", True)]
    with psycopg.connect(url) as conn:  # the findings are all still there, none marked as alerted
        assert conn.execute("SELECT count(*) FROM logintel.alerted_groups").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM logintel.dq_findings").fetchone()[0] == 6
    receiver["status"] = 204
    sent = send_new_groups(url, "run-2")
    assert sent.status == "sent" and sent.groups == 3
    body = receiver["bodies"][-1]
    assert body["auth"] == "Bearer s3cret"
    assert "3 new finding groups" in body["json"]["text"]
    assert {g["group_id"] for g in body["json"]["groups"]} == set(sent.group_ids)
    assert send_new_groups(url, "run-3").status == "nothing_new" and len(receiver["bodies"]) == 2


def test_dismissed_and_weak_groups_are_not_alerted_and_no_connection_is_no_alert(seeded, webhook_receiver,
                                                                                 monkeypatch):
    receiver = webhook_receiver
    from logintel import triage

    url = seeded["url"]
    monkeypatch.delenv(CONN_VAR, raising=False)
    off = send_new_groups(url, "run-1")
    assert off.status == "not_configured" and off.groups == 3 and _alerts(url) == []
    monkeypatch.setenv(CONN_VAR, json.dumps({"conn_type": "http", "host": receiver["url"]}))
    groups = send_new_groups(url, "dry", min_confidence=0.99)
    assert groups.status == "nothing_new"  # 0.99 is the retired model's finding: not the champion's
    from logintel.findings import export_groups

    disk = next(g for g in export_groups(url) if g["service"] == "disk")
    triage.decide(url, disk["group_id"], "dismissed", "alice")
    sent = send_new_groups(url, "run-2")
    assert sent.status == "sent" and sent.groups == 2 and disk["group_id"] not in sent.group_ids


def test_two_runs_at_once_send_each_group_once(seeded, webhook_receiver, monkeypatch):
    receiver = webhook_receiver
    """The digest takes a transaction-scoped advisory lock: a concurrent run waits, then finds nothing new."""
    monkeypatch.setenv(CONN_VAR, json.dumps({"conn_type": "http", "host": receiver["url"]}))
    url = seeded["url"]
    barrier = threading.Barrier(2)
    results = []

    def run(key):
        barrier.wait()
        results.append(send_new_groups(url, key).status)

    threads = [threading.Thread(target=run, args=(f"run-{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results) == ["nothing_new", "sent"] and len(receiver["bodies"]) == 1
