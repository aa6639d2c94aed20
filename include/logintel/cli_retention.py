"""`logintel retention`: archive and drop the day partitions of the logs older than the retention.

cli.py calls `register(app)`; the helpers of cli.py are imported when a command runs.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def retention_cmd(days: Optional[int] = typer.Option(None, "--days", min=1, help="Default: LOGINTEL_RETENTION_DAYS."),
                  archive_dir: Optional[Path] = typer.Option(None, "--archive-dir",
                                                             help="Default: LOGINTEL_ARCHIVE_DIR."),
                  dry_run: bool = typer.Option(False, "--dry-run", help="Only list the partitions that are due.")) -> None:
    """Archive each day partition of the logs older than the retention (logs and their findings as
    gzip JSON lines, a manifest with rows and sha256), verify it, and only then drop it. Exits 7
    when an archive failed (its partition stays)."""
    from . import retention
    from .cli import EXIT_CHECK, _print_json, _url

    result = retention.run(_url(), days=days, archive_dir=archive_dir, dry_run=dry_run)
    _print_json(result)
    if result["failed"]:
        raise typer.Exit(EXIT_CHECK)


def register(app: typer.Typer) -> None:
    app.command("retention")(retention_cmd)
