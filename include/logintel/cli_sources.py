"""`logintel extract` and `logintel quarantine list|replay`: getting records in from other places.

cli.py calls `register(app)`. The helpers of cli.py are imported when a command runs, so this
also works when cli.py runs as `python -m logintel.cli` (then it is `__main__`, not `logintel.cli`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

quarantine_app = typer.Typer(help="Records that could not be loaded: list them, replay them.", no_args_is_help=True)
QUARANTINE_TABLE_COLUMNS = ("id", "batch_id", "source", "source_line", "bytes", "reason", "raw_head")


def extract(table: str = typer.Option(..., help="The source table or view: TABLE or SCHEMA.TABLE (with --query: "
                                                 "the name its rows go by)."),
            query: Optional[str] = typer.Option(None, help="A SELECT to read instead of the table; its columns "
                                                           "are mapped like a table's."),
            source_url: Optional[str] = typer.Option(None, help="libpq URL of the source database."),
            conn_id: Optional[str] = typer.Option(None, help="Or: an Airflow connection id of the source."),
            preset: Optional[str] = typer.Option(None, help="A column mapping by name: log_entries."),
            map_: list[str] = typer.Option([], "--map", help="FIELD=COLUMN (ts, level, message, service, "
                                                             "is_anomaly, host); repeat; overrides the preset."),
            key: str = typer.Option("id", help="The source's integer key (monotonic with --watermark key)."),
            watermark: str = typer.Option("key", help="key: rows above the largest key extracted; ts: rows from "
                                                      "the largest timestamp minus --lookback-minutes."),
            lookback_minutes: int = typer.Option(0, min=0, help="With --watermark ts: how late a row may arrive."),
            chunk_rows: int = typer.Option(50_000, min=1, help="Rows per chunk (one batch, one transaction).")) -> None:
    """Extract new rows of a PostgreSQL table (or query) in place, incrementally (a watermark per source)."""
    from .cli import _print_json, _url
    from .extract import TableSource, extract as run, mapping, totals

    if bool(source_url) == bool(conn_id):
        raise typer.BadParameter("give exactly one of --source-url, --conn-id")
    overrides = {}
    for item in map_:
        name, sep, column = item.partition("=")
        if not sep or not column:
            raise typer.BadParameter(f"--map takes FIELD=COLUMN, got {item!r}")
        overrides[name.strip()] = column.strip()
    url = source_url or _connection_url(conn_id)
    source = TableSource(url=url, table=table, key=key, columns=mapping(preset, overrides), watermark=watermark,
                         lookback_minutes=lookback_minutes, query=query)
    from .progress import rows_bar

    target = _url()
    with rows_bar("extract", "rows") as progress:
        done = run(target, source, chunk_rows=chunk_rows, progress=progress)
    _print_json(totals(done))


def _connection_url(conn_id: str) -> str:
    """An Airflow connection's libpq URL (extras such as sslmode kept), read through the Task SDK."""
    from airflow.sdk import Connection

    from .settings import connection_url

    return connection_url(Connection.get(conn_id), name=conn_id)


def quarantine_list(reason: Optional[str] = typer.Option(None, help="Only reasons containing this (any case)."),
                    limit: int = typer.Option(100, min=1), fmt: str = typer.Option("table", "--format",
                                                                                   help="table, csv or json"),
                    out_file: Optional[Path] = typer.Option(None, "--out")) -> None:
    """Quarantined records (newest first) and a count per reason."""
    from .cli import _url, _write_rows, console
    from . import quarantine

    url = _url()
    counts = quarantine.by_reason(url, reason)
    rows = quarantine.list_records(url, reason, limit)
    console.print(f"{sum(c['records'] for c in counts):,} quarantined records; by reason: "
                  + "; ".join(f"{c['records']:,} × {c['reason'][:80]}" for c in counts[:10]), markup=False)
    _write_rows(rows, fmt, out_file, QUARANTINE_TABLE_COLUMNS, f"{len(rows):,} quarantined records",
                "quarantined records")


def quarantine_replay(reason: Optional[str] = typer.Option(None, help="Only reasons containing this (any case)."),
                      service: Optional[str] = typer.Option(None, help="Service of records that name none.")) -> None:
    """Parse quarantined records again (after raising a limit or fixing a format): those that now
    parse become logs, the rest stay with their reason; one batch, accounted like any other."""
    from .cli import _print_json, _url
    from .quarantine import replay

    _print_json(replay(_url(), reason, service).as_dict())


def register(app: typer.Typer) -> None:
    app.command()(extract)
    quarantine_app.command("list")(quarantine_list)
    quarantine_app.command("replay")(quarantine_replay)
    app.add_typer(quarantine_app, name="quarantine")
