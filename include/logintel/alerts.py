"""Alerts, once: after a findings run, the new open finding groups go out as one digest.

The channel is an Airflow connection (LOGINTEL_ALERT_CONN_ID, default `logintel_alerts`):

- conn type `smtp` (or `email`): e-mail through the SMTP provider's `SmtpNotifier`; recipients
  from the connection's extra `to` or LOGINTEL_ALERT_TO; sender from the extra `from_email`;
- conn type `http`/`https`: a JSON POST (`{"text": ..., "groups": [...]}`, which a Slack
  incoming webhook also accepts) to the connection's host (a whole URL, or host + port +
  extra `endpoint`); a password is sent as a bearer token.

Rules: nothing is sent when no group is new; a group named by a sent digest is never sent
again (`alerted_groups`); a failing notifier is recorded in `alerts` with its error and never
raised, and its groups stay unsent so the next run tries again. Without the connection,
alerting is off (the findings are in the database and the report either way).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from . import db
from .findings import query_groups
from .settings import get_settings

log = logging.getLogger(__name__)
ALERT_LOCK = 741_2005  # one digest at a time per database: two runs never send the same group
DIGEST_GROUPS = 20  # groups listed in a digest; the rest are counted
EMAIL_TYPES = ("smtp", "email")
WEBHOOK_TYPES = ("http", "https")


@dataclass
class AlertResult:
    status: str  # sent, failed, nothing_new, not_configured
    groups: int = 0
    findings: int = 0
    channel: str | None = None
    alert_id: int | None = None
    error: str | None = None
    group_ids: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def lookup_connection(conn_id: str) -> Any | None:
    """The Airflow connection (Task SDK: works in a task and from the shell), or None if undefined."""
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return Connection.get(conn_id)
    except AirflowNotFoundException:
        return None


def render_digest(groups: list[dict], total_groups: int, ui_url: str) -> dict:
    """Subject, HTML and plain text of a digest (Jinja, autoescaped: messages are hostile input)."""
    from jinja2 import PackageLoader

    from .display import jinja_environment

    env = jinja_environment(PackageLoader("logintel", "templates"))
    shown = groups[:DIGEST_GROUPS]
    lines = sum(int(g["findings"]) for g in groups)
    subject = f"Logintel: {total_groups} new finding group{'s' if total_groups != 1 else ''} ({lines:,} lines)"
    context = {"groups": shown, "more": total_groups - len(shown), "ui_url": ui_url, "subject": subject}
    return {"subject": subject, "html": env.get_template("alert_digest.html.j2").render(**context),
            "text": env.get_template("alert_digest.txt.j2").render(**context)}


def webhook_url(conn: Any) -> str:
    host = (conn.host or "").strip()
    if host.startswith(("http://", "https://")):
        return host
    scheme = conn.schema if conn.schema in WEBHOOK_TYPES else conn.conn_type
    port = f":{conn.port}" if conn.port else ""
    endpoint = str(conn.extra_dejson.get("endpoint", "")).lstrip("/")
    return f"{scheme}://{host}{port}/{endpoint}"


def notifier_for(conn: Any, digest: dict, groups: list[dict]):
    """An Airflow notifier for the connection's type, with the digest as its content."""
    kind = (conn.conn_type or "").lower()
    if kind in EMAIL_TYPES:
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        to = conn.extra_dejson.get("to") or get_settings().alert_to
        if not to:
            raise ValueError(f"connection {conn.conn_id!r} names no recipients: set its extra 'to' or LOGINTEL_ALERT_TO")
        return "smtp", SmtpNotifier(to=to, from_email=conn.extra_dejson.get("from_email") or "logintel@localhost",
                                    subject=digest["subject"], html_content=digest["html"], smtp_conn_id=conn.conn_id)
    if kind in WEBHOOK_TYPES:
        from .webhook import WebhookNotifier

        payload = {"text": digest["text"], "groups": [_plain(g) for g in groups[:DIGEST_GROUPS]]}
        return "webhook", WebhookNotifier(url=webhook_url(conn), payload=payload, token=conn.password)
    raise ValueError(f"connection {conn.conn_id!r} has type {conn.conn_type!r}: use smtp or http")


def _plain(group: dict) -> dict:
    keep = ("group_id", "kind", "service", "template_key", "recorded_value", "suggested_value", "findings",
            "first_seen", "last_seen", "confidence", "reason", "sample_lines")
    from decimal import Decimal

    def plain(v: Any) -> Any:
        if isinstance(v, Decimal):
            return float(v)
        return v if isinstance(v, (str, int, float, list, type(None))) else str(v)

    return {k: plain(v) for k, v in group.items() if k in keep}


def send_new_groups(url: str, run_key: str, min_confidence: float | None = None,
                    conn_id: str | None = None, model_version: str | None = None) -> AlertResult:
    """One digest of the open groups (of `model_version`, default the champion) no digest has
    named yet. Never raises for a notifier's failure."""
    from . import registry

    settings = get_settings()
    if model_version is None:
        champion = registry.champion(url)
        model_version = champion.version if champion else None
    threshold = settings.alert_confidence if min_confidence is None else min_confidence
    conn_id = conn_id or settings.alert_connection_id
    with db.transaction(url) as conn:
        # held until commit: a concurrent run waits, then sees these groups as alerted
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (ALERT_LOCK,))
        groups = query_groups(conn, model_version=model_version, status="open", min_confidence=threshold,
                              unalerted=True)
        if not groups:
            return AlertResult("nothing_new")
        result = AlertResult("sent", groups=len(groups), findings=sum(int(g["findings"]) for g in groups),
                             group_ids=[g["group_id"] for g in groups])
        connection = lookup_connection(conn_id)
        if connection is None:
            log.info("alerts off: no Airflow connection %r (%d new groups are in the report)", conn_id, len(groups))
            result.status = "not_configured"
            return result
        try:
            result.channel, notifier = notifier_for(connection, render_digest(groups, len(groups), settings.ui_url),
                                                    groups)
            notifier.notify({})  # notify(), not __call__: that would swallow the error we record
        except Exception as exc:  # any notifier failure is recorded, never raised
            result.status, result.error = "failed", f"{type(exc).__name__}: {exc}"[:2000]
            log.warning("alert digest of %d groups not sent: %s", len(groups), result.error)
        record = {"run_key": run_key, "channel": result.channel or "unknown", "connection_id": conn_id,
                  "groups": result.groups, "findings": result.findings, "status": result.status,
                  "error": result.error}
        result.alert_id = conn.execute(db.sql("alerts/record_alert"), record).fetchone()[0]
        if result.status == "sent":
            conn.execute(db.sql("alerts/mark_alerted"), {"alert_id": result.alert_id, "group_ids": result.group_ids})
    return result


__all__ = ["AlertResult", "send_new_groups", "render_digest", "notifier_for"]
