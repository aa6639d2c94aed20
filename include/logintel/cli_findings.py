"""`logintel findings`, `logintel triage` and `logintel alert`: what was found, the decisions on
it, and the digest of what is new.

cli.py calls `register(app)`; the helpers of cli.py are imported when a command runs (as in
cli_sources.py).
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import typer

GROUP_TABLE_COLUMNS = ("group_id", "kind", "service", "template_key", "recorded_value", "suggested_value",
                       "findings", "confidence", "status")
FINDING_TABLE_COLUMNS = ("kind", "source", "source_line", "recorded_value", "suggested_value", "confidence", "reason")


def findings_cmd(fmt: str = typer.Option("table", "--format", help="table, csv or json"),
                 out_file: Optional[Path] = typer.Option(None, "--out"), kind: Optional[str] = None,
                 all_versions: bool = typer.Option(False, help="Include findings of retired models."),
                 groups: bool = typer.Option(False, "--groups", help="One row per group: a call site to fix "
                                             "(level) or an episode (anomaly), with counts and sample lines."),
                 service: Optional[str] = typer.Option(None, help="--groups: only this service."),
                 level: Optional[str] = typer.Option(None, help="--groups: recorded or suggested level."),
                 status: Optional[str] = typer.Option(None, help="--groups: open, confirmed, dismissed or mixed."),
                 text: Optional[str] = typer.Option(None, help="--groups: text in the template or a message."),
                 since: Optional[datetime] = typer.Option(None, help="--groups: lines at or after this time."),
                 until: Optional[datetime] = typer.Option(None, help="--groups: lines before this time."),
                 sort: str = typer.Option("impact", help="--groups: impact, confidence or recent."),
                 limit: Optional[int] = typer.Option(None, min=1, help="--groups: at most this many groups.")
                 ) -> None:
    """Export findings with the source file and line of each log (or, with --groups, grouped)."""
    from . import findings as f
    from .cli import _url, _write_rows

    if groups:
        try:
            rows = f.export_groups(_url(), kind=kind, all_versions=all_versions, service=service, level=level,
                                   status=status, text=text, since=_utc(since), until=_utc(until), sort=sort,
                                   limit=limit)
        except ValueError as exc:  # a bad --sort / --status
            raise typer.BadParameter(str(exc)) from None
        _write_rows(rows, fmt, out_file, GROUP_TABLE_COLUMNS,
                    f"{len(rows):,} finding groups ({sum(r['findings'] for r in rows):,} findings)", "finding groups")
        return
    rows = f.export(_url(), kind=kind, all_versions=all_versions)
    _write_rows(rows, fmt, out_file, FINDING_TABLE_COLUMNS, f"{len(rows):,} findings", "findings")


def _utc(value: Optional[datetime]) -> Optional[datetime]:
    """A time given without a zone is UTC (as every stored timestamp)."""
    return value.replace(tzinfo=timezone.utc) if value is not None and value.tzinfo is None else value


def alert(run_key: Optional[str] = typer.Option(None, help="Run key recorded with the digest."),
          min_confidence: Optional[float] = typer.Option(None, min=0.0, max=1.0,
                                                         help="Default: LOGINTEL_ALERT_CONFIDENCE.")) -> None:
    """Send one digest of the new open finding groups (once per group) through the alert connection."""
    from .alerts import send_new_groups
    from .cli import _print_json, _run_key, _url

    _print_json(send_new_groups(_url(), _run_key(run_key), min_confidence).as_dict())


def triage(target: str = typer.Argument(..., help="A group id (from `findings --groups`) or a finding id."),
           confirm: bool = typer.Option(False, "--confirm", help="The finding is right."),
           dismiss: bool = typer.Option(False, "--dismiss", help="The finding is wrong: never raise it again."),
           reopen: bool = typer.Option(False, "--reopen", help="Take a decision back."),
           note: Optional[str] = typer.Option(None, help="Why (kept with the decision)."),
           by: Optional[str] = typer.Option(None, help="Who decides (default: the login name).")) -> None:
    """Confirm or dismiss a finding group or a single finding (who, when, a note)."""
    import getpass

    from .cli import _print_json, _url
    from .triage import decide

    chosen = [d for d, on in (("confirmed", confirm), ("dismissed", dismiss), ("open", reopen)) if on]
    if len(chosen) != 1:
        raise typer.BadParameter("give exactly one of --confirm, --dismiss, --reopen")
    _print_json(decide(_url(), target, chosen[0], by or getpass.getuser(), note))


def register(app: typer.Typer) -> None:
    app.command("findings")(findings_cmd)
    app.command()(alert)
    app.command()(triage)
