"""The `logintel` command: everything a DAG does, from the shell, with the same functions."""
from __future__ import annotations

import csv
import io
import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .display import display_text

from .settings import get_settings, mask_url

app = typer.Typer(help="Find logs whose recorded level or anomaly flag is wrong.", no_args_is_help=True,
                  pretty_exceptions_show_locals=False)
db_app = typer.Typer(help="The database: start, migrate, show.", no_args_is_help=True)
app.add_typer(db_app, name="db")
console = Console(stderr=True)
out = Console()

# Exit codes of expected errors (documented in the README); 1 is an unexpected error.
EXIT_USAGE, EXIT_DATABASE, EXIT_MODEL, EXIT_INPUT, EXIT_SETTINGS, EXIT_CHECK = 2, 3, 4, 5, 6, 7
_state = {"debug": False, "migrated": set()}


@app.callback()
def _options(debug: bool = typer.Option(False, "--debug", help="Show the traceback of an error "
                                        "(or set LOGINTEL_DEBUG=1).")) -> None:
    """Find logs whose recorded level or anomaly flag is wrong."""
    _state["debug"] = debug


def _url(migrate: bool = True) -> str:
    """The database URL; pending migrations are applied first (as the DAGs do), once per process."""
    from . import db

    url = db.database_url()
    if migrate and url not in _state["migrated"]:
        db.upgrade(url)
        _state["migrated"].add(url)
    return url


def _run_key(given: Optional[str]) -> str:
    """Run keys name a run in dq_runs / scoring_runs; the CLI makes a new one per call."""
    from datetime import datetime, timezone

    return given or "cli-" + datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%f")


def _print_json(data) -> None:
    out.print_json(json.dumps(data, default=str))


@db_app.command("up")
def db_up(shell: bool = typer.Option(False, help="Print `export` lines for a shell (used by the Makefile).")) -> None:
    """Start the embedded server if no URL is set, create the databases and apply migrations."""
    from .runtime import prepare, shell_exports

    env = prepare()
    if shell:
        print(shell_exports(env))
    else:
        console.print(f"[green]database ready[/]: {mask_url(env['LOGINTEL_DATABASE_URL'])}")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the SQL migrations not applied yet (safe to run twice)."""
    from . import db

    applied = db.upgrade(_url())
    console.print(f"applied: {', '.join(applied) if applied else 'nothing (up to date)'}")


@db_app.command("url")
def db_url(show_password: bool = False) -> None:
    """Print the Logintel database URL."""
    url = _url(migrate=False)
    print(url if show_password else mask_url(url))


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded PostgreSQL server (no effect with LOGINTEL_DATABASE_URL)."""
    from . import embedded

    settings = get_settings()
    stopped = embedded.stop(settings.pgdata)
    console.print("embedded PostgreSQL stopped" if stopped else "embedded PostgreSQL was not running")


@app.command()
def generate(logs: int = typer.Option(100_000, "--logs", min=1), days: float = typer.Option(7.0, min=0.01),
             out_path: Path = typer.Option(..., "--out", help="File to write (.gz to compress)."),
             fmt: str = typer.Option("jsonl", "--format", help="jsonl, csv, log4j, python or syslog."),
             seed: int = 42,
             start: Optional[datetime] = typer.Option(
                 None, formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"],
                 help="Time of the first log (UTC unless an offset is given). Default: now minus --days, "
                      "to the minute. Give it for output that is the same whenever it runs.")) -> None:
    """Write realistic synthetic logs with anomaly episodes flagged as ground truth."""
    from .synthetic import generate as gen, write_logs

    out_path.parent.mkdir(parents=True, exist_ok=True)
    n = write_logs(gen(logs, days=days, seed=seed, start=start), out_path, fmt=fmt)
    console.print(f"wrote {n:,} logs to {out_path}")


@app.command()
def ingest(paths: list[Path] = typer.Argument(..., help="Files, or folders scanned for new files."),
           service: Optional[str] = typer.Option(None, help="Service for records that name none."),
           fmt: str = typer.Option("auto", "--format"), as_json: bool = typer.Option(False, "--json")) -> None:
    """Load log files (JSON lines, CSV, text formats, .gz) into PostgreSQL; bad records are quarantined."""
    from .ingest import ingest_sources
    from .progress import rows_bar

    url = _url()
    try:
        with rows_bar("ingest", "lines") as progress:
            result = ingest_sources(paths, default_service=service, fmt=fmt, url=url, progress=progress)
    except FileNotFoundError as exc:
        raise typer.BadParameter(str(exc)) from None
    if result is None:
        console.print("no log files found: nothing to ingest")
        if as_json:
            _print_json({"batch_id": None, "read": 0, "loaded": 0, "duplicates": 0, "quarantined": 0})
        return
    if as_json:
        _print_json(result.as_dict())
    else:
        console.print(f"batch {result.batch_id}: read {result.read:,}, loaded {result.loaded:,}, "
                      f"duplicates {result.duplicates:,}, quarantined {result.quarantined:,}; "
                      f"skipped files already loaded: {len(result.skipped_files)}")


@app.command()
def quality(run_key: Optional[str] = typer.Option(None, help="Run key recorded in dq_runs (default: a new one).")) -> None:
    """Validate the logs of batches not checked yet with the GX quality suite."""
    from .quality.run import validate_new_batches

    _, run = validate_new_batches(_url(), _run_key(run_key), get_settings().future_tolerance_minutes)
    if run is None:
        console.print("no new batches to validate")
        return
    _print_json(run.summary())


@app.command("train")
def train_cmd(seed: int = 0) -> None:
    """Train the level and anomaly models. With a champion in place the new version is a challenger:
    both are judged on the same recent logs and it is promoted only when better by a margin."""
    from . import training

    result = training.train_and_register(_url(), seed=seed)
    _print_json({k: v for k, v in result.as_dict().items()})


@app.command()
def score(partitions: Optional[int] = typer.Option(None, min=1, help="Default: LOGINTEL_PARTITIONS."),
          chunk_size: Optional[int] = typer.Option(None, min=1000, help="Default: LOGINTEL_CHUNK_SIZE."),
          run_key: Optional[str] = None) -> None:
    """Score every log without a prediction from the champion model."""
    from . import scoring
    from .progress import rows_bar

    url = _url()
    with rows_bar("score", "logs") as progress:
        result = scoring.score_all(url, run_key=_run_key(run_key), partitions=partitions or get_settings().partitions,
                                   chunk_size=chunk_size, progress=progress)
    _print_json(result)


@app.command()
def templates(retemplate: bool = typer.Option(False, "--retemplate",
                                              help="Also move logs templated by an older masker version."),
              top: int = typer.Option(20, min=0, help="Show the catalog's N largest templates.")) -> None:
    """Template the stored logs that have no catalog id yet and show the catalog (resumable)."""
    from . import db, template_catalog

    url = _url()
    from .progress import rows_bar

    with rows_bar("templates", "logs") as progress:
        done = template_catalog.assign(url, retemplate=retemplate, progress=progress)
    with db.connect(url) as conn:
        rows = db.query(conn, "catalog/largest", {"limit": top, "masker_version": template_catalog.MASKER_VERSION})
        size = db.query_one(conn, "catalog/size")
    _print_json({"templated": done, **size, "largest": [
        {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()} for r in rows]})


@app.command()
def detect(run_key: Optional[str] = None) -> None:
    """Compute level verdicts and record findings through the GX findings suite."""
    from . import findings as f

    _print_json(f.record_findings(_url(), _run_key(run_key)).as_dict())


def _write_rows(rows: list[dict], fmt: str, out_file: Optional[Path], columns: tuple[str, ...], title: str,
                noun: str) -> None:
    """rows as a table (the first 200), CSV or JSON, to stdout or --out."""
    if fmt == "table":
        if out_file:
            raise typer.BadParameter("--out needs --format csv or json")
        table = Table(title=title)
        for col in columns:
            table.add_column(col, overflow="fold")
        for r in rows[:200]:  # Text: stored data is never parsed as rich markup
            table.add_row(*(Text(display_text(r[c])) for c in columns))
        Console().print(table, markup=False)
        return
    if fmt == "json":
        text = json.dumps(rows, default=str, indent=1)
    elif fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(rows[0].keys()) if rows else list(columns))
        writer.writeheader()
        # list values (sample lines) as one cell
        writer.writerows({k: (" | ".join(map(str, v)) if isinstance(v, list) else v) for k, v in r.items()}
                         for r in rows)
        text = buf.getvalue()
    else:
        raise typer.BadParameter(f"unknown format {fmt!r}: use table, csv or json")
    if out_file:
        out_file.write_text(text)
        console.print(f"wrote {len(rows):,} {noun} to {out_file}")
    else:
        sys.stdout.write(text)


@app.command("simulate-issues")
def simulate_issues(rate: float = typer.Option(0.03, min=0.0, max=1.0), scheme: str = "reference", seed: int = 1,
                    run: Optional[str] = None,
                    batch: Optional[str] = typer.Option(None, help="'latest' or an ingest batch id: only its logs")) -> None:
    """Inject wrong levels and cleared anomaly flags into stored logs, keeping the truth."""
    from .corrupt import inject

    _print_json(inject(_url(), rate=rate, scheme=scheme, seed=seed, run=run, batch=batch).as_dict())


@app.command()
def summary(as_json: bool = typer.Option(False, "--json")) -> None:
    """Loaded / quarantined counts, model metrics, findings by kind, detection scores, where the results are."""
    from .report.summary import collect, render

    data = collect(_url())
    if as_json:
        _print_json(data)
    else:
        # Wide enough for the tables even when stdout is not a terminal (make demo, CI logs).
        render(data, Console(width=max(110, Console().width)))


@app.command()
def report(out_file: Optional[Path] = typer.Option(None, "--out")) -> None:
    """Write the HTML report (findings, plots, model metrics)."""
    from .report import write_report

    path = write_report(_url(), out_file)
    console.print(f"report: {path}")


@app.command()
def evaluate(input_file: Path = typer.Option(..., "--input", exists=True), rate: float = 0.03,
             scheme: str = "reference", seed: int = 1, service: Optional[str] = None,
             as_json: bool = typer.Option(False, "--json"), keep: bool = False,
             protocol: str = typer.Option("in-sample", help="in-sample: train and judge the same logs; "
                                          "new-logs: train on the earlier logs, judge later batches without retraining"),
             train_fraction: float = typer.Option(0.7, min=0.05, max=0.95, help="new-logs: share of the lines trained on"),
             batches: int = typer.Option(3, min=1, help="new-logs: later batches the rest arrives in")) -> None:
    """Run the real path on a throwaway database: ingest, inject, train, score, findings; print scores."""
    from .evaluate import evaluate_file

    result = evaluate_file(input_file, rate=rate, scheme=scheme, seed=seed, service=service, keep=keep,
                           protocol=protocol, train_fraction=train_fraction, batches=batches)
    if as_json:
        _print_json(result)
    else:
        table = Table(title=f"{input_file.name}: scheme {scheme}, rate {rate}, seed {seed}, protocol {protocol}")
        for col in ("finding", "findings", "injected", "true positives", "precision", "recall", "f1"):
            table.add_column(col)
        for fam, s in result["scores"].items():
            table.add_row(fam, str(s["findings"]), str(s["injected"]), str(s["true_positives"]),
                          str(s["precision"]), str(s["recall"]), str(s["f1"]))
        Console().print(table)
        if "new_logs" in result:
            kinds = ", ".join(f"{k} {n}" for k, n in result["new_logs"]["by_kind"].items())
            Console().print(f"{result['new_logs']['new_logs']:,} logs arrived after training; findings on them: {kinds}")


@app.command()
def doctor(as_json: bool = typer.Option(False, "--json")) -> None:
    """Check the database, schema, champion model, GX project, Airflow connection, landing folder
    and free disk, one line each, with what to do about each problem; exit 3 when one fails."""
    from .doctor import run_checks

    checks = run_checks()
    if as_json:
        _print_json([c.as_dict() for c in checks])
    else:
        for c in checks:
            mark = "[green]ok  [/]" if c.ok else "[red]FAIL[/]"
            out.print(f"{mark} {c.name}: {c.detail}" + (f" -> {c.fix}" if c.fix else ""), highlight=False,
                      soft_wrap=True)
    if not all(c.ok for c in checks):
        raise typer.Exit(EXIT_DATABASE)


def _exit_code(exc: BaseException) -> int | None:
    """The documented exit code of an expected error; None for a bug (shown with its traceback)."""
    import psycopg

    from .airflow.connection import DatabaseNotConfigured
    from .ingest import IngestError
    from .ml import ArtifactError
    from .registry import NoChampionError
    from .settings import SettingsError

    for types, code in (((SettingsError,), EXIT_SETTINGS),
                        ((psycopg.Error, DatabaseNotConfigured), EXIT_DATABASE),
                        ((NoChampionError, ArtifactError), EXIT_MODEL),
                        ((FileNotFoundError, IsADirectoryError, PermissionError, IngestError, ValueError), EXIT_INPUT)):
        if isinstance(exc, types):
            return code
    return None


def _one_line(exc: BaseException) -> str:
    from .settings import mask_url

    # one line; a URL in a driver message never shows its password
    return mask_url(" ".join(str(exc).split()) or type(exc).__name__)


from .cli_findings import register as _register_findings  # noqa: E402  (findings, triage, alert)
from .cli_models import register as _register_models  # noqa: E402  (models list|decisions|promote|rollback)
from .cli_monitor import register as _register_monitor  # noqa: E402  (coverage, drift)
from .cli_retention import register as _register_retention  # noqa: E402  (retention)
from .cli_sources import register as _register_sources  # noqa: E402  (extract, quarantine list|replay)

for _register in (_register_findings, _register_models, _register_monitor, _register_retention, _register_sources):
    _register(app)


def main(argv: list[str] | None = None) -> int:
    """The `logintel` command: expected errors are one line on stderr and a documented exit code."""
    # typer vendors click: its exception classes are typer's own (BadParameter's base)
    usage_error = typer.BadParameter.__mro__[2]  # ClickException
    try:
        code = app(args=argv, standalone_mode=False)  # typer.Exit(n) comes back as n here
        return code if isinstance(code, int) else 0
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        console.print("aborted")
        return 1
    except usage_error as exc:
        exc.show()
        return exc.exit_code
    except Exception as exc:
        code = _exit_code(exc)
        if code is None or _state["debug"] or _debug_env():
            raise
        console.print(f"[red]error:[/] {_one_line(exc)}", highlight=False, markup=True, soft_wrap=True)
        console.print("(run with --debug for the traceback)", style="dim", highlight=False)
        return code


def _debug_env() -> bool:
    try:
        return get_settings().debug
    except Exception:  # a bad setting is the error being reported
        return False


if __name__ == "__main__":
    sys.exit(main())
