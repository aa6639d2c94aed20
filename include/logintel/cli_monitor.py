"""`logintel coverage` and `logintel drift`: what the latest scoring run left behind, per service.

cli.py calls `register(app)`; the helpers of cli.py are imported when a command runs (as in
cli_sources.py).
"""
from __future__ import annotations

import typer


def _latest_figures(what: str, check: bool, as_json: bool) -> None:
    """`logintel coverage` / `logintel drift`: the latest scoring run's figures per service, and
    with `check` the GX suite on them (exit EXIT_CHECK when it fails)."""
    from . import coverage, db, drift
    from .cli import EXIT_CHECK, _print_json, _run_key, _url, console
    from .quality.run import validate_coverage, validate_drift
    from .report.summary import coverage_table, drift_table

    latest, validate, table = {"coverage": (coverage.latest, validate_coverage, coverage_table),
                               "drift": (drift.latest, validate_drift, drift_table)}[what]
    url = _url()
    with db.connect(url) as conn:
        rows = latest(conn)
    if not rows:
        console.print(f"no {what} figures yet: run `logintel score` first")
        return
    if check:
        run = validate(url, _run_key(None))
        if not run.success:
            _print_json(run.summary())
            raise typer.Exit(EXIT_CHECK)
    if as_json:
        _print_json(rows)
        return
    from rich.console import Console

    Console(width=max(110, Console().width)).print(table(rows))  # stdout, like summary


def coverage_cmd(check: bool = typer.Option(False, "--check", help="Also run the GX coverage suite; exit 7 when "
                                                                     "it fails."),
                 as_json: bool = typer.Option(False, "--json")) -> None:
    """Scoring coverage per service after the latest scoring run: share scored by the champion,
    the oldest unscored log's age, the run's scoring lag."""
    _latest_figures("coverage", check, as_json)


def drift_cmd(check: bool = typer.Option(False, "--check", help="Also run the GX drift suite; exit 7 when it fails."),
              as_json: bool = typer.Option(False, "--json")) -> None:
    """Drift per service of the latest scoring run's logs against the model's history: unseen
    templates, new services, level-mix and message-length PSI, anomaly-flag rate."""
    _latest_figures("drift", check, as_json)


def register(app: typer.Typer) -> None:
    app.command("coverage")(coverage_cmd)
    app.command("drift")(drift_cmd)
