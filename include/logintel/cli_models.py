"""`logintel models list|decisions|promote|rollback`: the registered versions and who is champion.

cli.py calls `register(app)`; the helpers of cli.py are imported when a command runs (as in
cli_sources.py).
"""
from __future__ import annotations

import getpass

import typer

models_app = typer.Typer(help="Model versions: list them, the champion decisions, promote, roll back.",
                         no_args_is_help=True)


def _who(by: str | None) -> str:
    return by or getpass.getuser()


@models_app.command("list")
def list_cmd(as_json: bool = typer.Option(False, "--json")) -> None:
    """Every registered version: status (champion, candidate, retired), training rows, decision."""
    from . import registry
    from .cli import _print_json, _url, out
    from rich.table import Table

    rows = registry.versions(_url())
    if as_json:
        _print_json(rows)
        return
    table = Table("version", "status", "created", "training rows", "last log id", "decision")
    for r in rows:
        table.add_row(r["version"], r["status"], f"{r['created_at']:%Y-%m-%d %H:%M}", f"{r['training_rows']:,}",
                      str(r["max_log_id"]), r["decision"] or "")
    out.print(table)


@models_app.command("decisions")
def decisions_cmd(limit: int = typer.Option(20, min=1), as_json: bool = typer.Option(False, "--json")) -> None:
    """The latest champion decisions (promoted, kept, not compared, rollback, manual) with both
    versions' precision and recall on the same hold-out."""
    from . import registry
    from .cli import _print_json, _url, out
    from rich.table import Table

    rows = registry.decisions(_url(), limit)
    if as_json:
        _print_json(rows)
        return
    table = Table("when", "action", "version", "champion after", "by", "reason")
    for r in rows:
        table.add_row(f"{r['decided_at']:%Y-%m-%d %H:%M}", r["action"], r["version"], r["champion_after"],
                      r["decided_by"], r["reason"])
    out.print(table)


@models_app.command("rollback")
def rollback_cmd(by: str = typer.Option(None, "--by", help="Who decides (default: the OS user).")) -> None:
    """Make the champion before the current one champion again (one step back per call); the next
    scoring run re-scores with it."""
    from . import registry
    from .cli import _print_json, _url

    _print_json(registry.rollback(_url(), decided_by=_who(by)))


@models_app.command("promote")
def promote_cmd(version: str = typer.Argument(..., help="A registered version (see `logintel models list`)."),
                reason: str = typer.Option("promoted by hand", "--reason"),
                by: str = typer.Option(None, "--by", help="Who decides (default: the OS user).")) -> None:
    """Make a registered version champion by hand (recorded as a `manual` decision)."""
    from . import registry
    from .cli import _print_json, _url

    try:
        done = registry.set_champion(_url(), version, action="manual", reason=reason, decided_by=_who(by))
    except KeyError as exc:
        raise ValueError(exc.args[0]) from None
    _print_json(done)


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")
