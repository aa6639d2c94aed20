"""The Logintel HTML report: one self-contained file with counts, model metrics, findings and plots.

Everything shown comes from the database, and log messages are hostile input: they may hold
HTML, SQL and terminal escape codes. The template is rendered with autoescape on, and every
value goes through `display_text` first, which shows control characters (ESC, bidi overrides...)
as visible escapes such as ``\\x1b`` instead of passing them through. Database URLs are shown
masked. Plots are PNGs drawn with matplotlib's Agg canvas and embedded as base64 data URIs,
so the file needs nothing else (and contains no script).
"""
from __future__ import annotations

import base64
import io
import json
import math
from decimal import Decimal
import os
import re
import tempfile
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable

from .. import db
from ..settings import get_settings, mask_url

REPORT_NAME = "logintel_report.html"
TOP_FINDINGS = 200
DQ_RUNS = 10
MODELS = 10
MESSAGE_CHARS = 2000  # longer messages are cut in the table (the database keeps them whole)

KINDS = ("level_understated", "level_overstated", "missed_anomaly", "false_anomaly")
LEVELS = ("DEBUG", "INFO", "WARN", "ERROR", "FATAL")
KIND_COLOURS = {"level_understated": "#d62728", "level_overstated": "#1f77b4",
                "missed_anomaly": "#ff7f0e", "false_anomaly": "#7f7f7f"}
METRIC_COLUMNS = ["precision", "recall", "f1", "f1_score", "f1-score", "support"]
SAFE_LINK_SCHEMES = ("http://", "https://", "file://")

# C0/C1 controls except tab and newline, DEL, zero-width and bidirectional-override characters.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")


def _visible(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def display_text(value: Any) -> str:
    """Text safe to show on a page or terminal: control characters become visible escapes.

    HTML escaping is the template's job (autoescape); this only removes what escaping keeps,
    e.g. ``ESC[31m`` becomes the seven visible characters ``\\x1b[31m``.
    """
    if value is None:
        return ""
    return _CONTROL.sub(_visible, value if isinstance(value, str) else str(value))


def truncate(value: Any, limit: int = MESSAGE_CHARS) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[:limit] + f"… (+{len(text) - limit:,} chars)"


def fmt_number(value: Any, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):  # sum() in SQL gives numeric
        value = int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        return f"{value:,.{digits}f}"
    return str(value)


def fmt_ts(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc)
        return value.strftime("%Y-%m-%d %H:%M:%S") + (" UTC" if value.tzinfo is not None else "")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def safe_link(path: Any) -> str | None:
    """A link target for a Data Docs path, or None: only http(s) and file URLs, never javascript: etc."""
    if not path:
        return None
    text = str(path).strip()
    if text.lower().startswith(SAFE_LINK_SCHEMES):
        return text
    p = Path(text)
    return p.as_uri() if p.is_absolute() else None


def safe_finalize(value: Any) -> Any:
    """Applied by Jinja to every {{ expression }} before autoescaping."""
    if value is None:
        return ""
    if hasattr(value, "__html__"):  # already markup built by our own code
        return value
    if isinstance(value, str):
        return display_text(value)
    return value


def _environment():
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(loader=PackageLoader("logintel", "report"),
                      autoescape=True,  # the template is .html.j2: select_autoescape would miss it
                      finalize=safe_finalize, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(num=fmt_number, ts=fmt_ts, trunc=truncate, clean=display_text)
    return env


# ---------------------------------------------------------------- data

def _rows(conn, name: str, params: dict | None = None) -> list[dict]:
    cur = conn.execute(db.sql(name), params or {})
    cols = [c.name for c in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def _one(conn, name: str, params: dict | None = None) -> dict | None:
    rows = _rows(conn, name, params)
    return rows[0] if rows else None


def _as_json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def metric_tables(metrics: Any) -> tuple[list[tuple[str, Any]], list[dict]]:
    """Flatten whatever metrics JSON a model has into scalar rows and matrix tables.

    A dict whose values are all dicts of scalars (e.g. ``per_level``) becomes a matrix
    (rows: its keys, columns: the union of the inner keys); everything else becomes
    ``dotted.key -> value`` rows. Lists are shown as compact JSON.
    """
    scalars: list[tuple[str, Any]] = []
    matrices: list[dict] = []

    def is_scalar(v: Any) -> bool:
        return v is None or isinstance(v, (str, int, float, bool))

    def walk(prefix: str, obj: Any) -> None:
        if isinstance(obj, dict):
            if obj and all(isinstance(v, dict) and v and all(is_scalar(x) for x in v.values())
                           for v in obj.values()) and prefix:
                columns: list[str] = []
                for v in obj.values():
                    columns.extend(k for k in v if k not in columns)
                columns.sort(key=lambda c: (METRIC_COLUMNS.index(c) if c in METRIC_COLUMNS else len(METRIC_COLUMNS), c))
                rows = [(str(k), [v.get(c) for c in columns]) for k, v in obj.items()]
                order = {lvl: i for i, lvl in enumerate(LEVELS)}
                rows.sort(key=lambda r: (order.get(r[0], len(order)), r[0]))
                matrices.append({"title": prefix, "columns": columns, "rows": rows})
                return
            for k, v in obj.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif isinstance(obj, (list, tuple)):
            scalars.append((prefix or "metrics", truncate(json.dumps(obj, default=str), 300)))
        else:
            scalars.append((prefix or "metrics", obj))

    walk("", _as_json(metrics))
    scalars.sort(key=lambda kv: kv[0])
    return scalars, matrices


def _detection(url: str) -> dict | None:
    try:
        from ..evaluate import detection_scores
    except ImportError:  # the simulator is optional
        return None
    return detection_scores(url)


def collect(url: str) -> dict:
    """Everything the report shows, read in one connection (plus detection scores)."""
    settings = get_settings()
    with db.connect(url) as conn:
        champion = _one(conn, "report/champion")
        version = champion["version"] if champion else None
        scope = {"model_version": version}
        data = {
            "ingest": _one(conn, "report/ingest_counts"),
            "logs": _one(conn, "report/log_counts"),
            "champion": champion,
            "models": _rows(conn, "report/models", {"limit": MODELS}),
            "by_kind": _rows(conn, "report/findings_by_kind", scope),
            "by_hour": _rows(conn, "report/findings_by_hour", scope),
            "level_matrix": _rows(conn, "report/level_matrix", scope),
            "top": _rows(conn, "report/top_findings",
                         {**scope, "kind": None, "limit": TOP_FINDINGS, "offset": 0}),
            "dq_runs": _rows(conn, "report/dq_runs", {"limit": DQ_RUNS}),
            "injected": bool(_one(conn, "report/injected_exists")["injected"]),
        }
    data["detection"] = _detection(url) if data["injected"] else None
    data["model_version"] = version
    local_site = settings.gx_root / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    data["data_docs_index"] = str(local_site) if local_site.exists() else next(
        (r["data_docs_path"] for r in data["dq_runs"] if r["data_docs_path"]), None)
    return data


# ---------------------------------------------------------------- plots

def _plot_label(value: Any, limit: int = 32) -> str:
    # matplotlib parses $...$ as mathtext: escape it, and keep labels short and printable.
    return truncate(display_text(value if value is not None else "(none)"), limit).replace("$", r"\$")


def _png(fig) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _figure(width: float = 7.5, height: float = 3.2):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    return fig, fig.add_subplot(1, 1, 1)


def _kind_order(kinds: Iterable[str]) -> list[str]:
    present = list(dict.fromkeys(kinds))
    return [k for k in KINDS if k in present] + sorted(k for k in present if k not in KINDS)


def plot_findings_by_kind(by_kind: list[dict]) -> str | None:
    if not by_kind:
        return None
    counts = {r["kind"]: int(r["findings"]) for r in by_kind}
    kinds = _kind_order(counts)
    from matplotlib.ticker import MaxNLocator

    fig, ax = _figure(7.5, 0.6 + 0.45 * len(kinds))
    bars = ax.barh([_plot_label(k) for k in kinds], [counts[k] for k in kinds],
                   color=[KIND_COLOURS.get(k, "#9467bd") for k in kinds])
    ax.bar_label(bars, labels=[f"{counts[k]:,}" for k in kinds], padding=3)
    ax.invert_yaxis()
    ax.set_xlabel("findings")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.margins(x=0.15)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def plot_findings_over_time(by_hour: list[dict]) -> str | None:
    """Findings per hour of log time: stacked bars up to a week of hours, lines beyond."""
    if not by_hour:
        return None
    import matplotlib.dates as mdates
    from matplotlib.ticker import MaxNLocator

    first, last = min(r["hour"] for r in by_hour), max(r["hour"] for r in by_hour)
    n_hours = int((last - first).total_seconds() // 3600) + 1
    hours = [first + timedelta(hours=i) for i in range(n_hours)]  # every hour, gaps as zeros
    series: dict[str, dict] = {}
    for r in by_hour:
        series.setdefault(r["kind"], {})[r["hour"]] = int(r["findings"])
    fig, ax = _figure(9, 3.4)
    if n_hours <= 168:
        bottom = [0] * n_hours
        for kind in _kind_order(series):
            values = [series[kind].get(h, 0) for h in hours]
            ax.bar(hours, values, width=1 / 24 * 0.9, bottom=bottom, align="edge", label=_plot_label(kind),
                   color=KIND_COLOURS.get(kind))
            bottom = [b + v for b, v in zip(bottom, values)]
    else:
        for kind in _kind_order(series):
            ax.plot(hours, [series[kind].get(h, 0) for h in hours], label=_plot_label(kind), linewidth=1,
                    color=KIND_COLOURS.get(kind))
    ax.set_ylabel("findings per hour")
    ax.set_xlabel("log time (UTC)")
    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small", frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_ylim(bottom=0)
    return _png(fig)


def level_distribution(matrix: list[dict]) -> dict:
    """Recorded vs suggested level counts and the recorded -> suggested table."""
    recorded: dict[str, int] = {}
    suggested: dict[str, int] = {}
    changes: list[dict] = []
    for r in matrix:
        rec = r["recorded"] if r["recorded"] is not None else "(none)"
        sug = r["suggested"] if r["suggested"] is not None else "(none)"
        n = int(r["logs"])
        recorded[rec] = recorded.get(rec, 0) + n
        suggested[sug] = suggested.get(sug, 0) + n
        if rec != sug:
            changes.append({"recorded": rec, "suggested": sug, "logs": n})
    order = {lvl: i for i, lvl in enumerate(LEVELS)}
    levels = sorted(set(LEVELS) | set(recorded) | set(suggested), key=lambda x: (order.get(x, len(order)), x)) if matrix else []
    changes.sort(key=lambda c: -c["logs"])
    return {"levels": levels, "recorded": recorded, "suggested": suggested, "changes": changes,
            "rows": [{"level": lvl, "recorded": recorded.get(lvl, 0), "suggested": suggested.get(lvl, 0),
                      "delta": suggested.get(lvl, 0) - recorded.get(lvl, 0)} for lvl in levels]}


def plot_level_distribution(dist: dict) -> str | None:
    levels = dist["levels"]
    if not levels:
        return None
    import numpy as np
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    x = np.arange(len(levels))
    fig, ax = _figure(7.5, 3.2)
    rec = [dist["recorded"].get(lvl, 0) for lvl in levels]
    sug = [dist["suggested"].get(lvl, 0) for lvl in levels]
    ax.bar(x - 0.2, rec, width=0.4, label="recorded", color="#8c8c8c")
    ax.bar(x + 0.2, sug, width=0.4, label="suggested (findings applied)", color="#2ca02c")
    ax.set_xticks(x, [_plot_label(lvl) for lvl in levels])
    positive = [v for v in rec + sug if v > 0]
    if positive and max(positive) > 100 * min(positive):
        ax.set_yscale("log")  # INFO usually dwarfs FATAL
        ax.set_ylabel("logs (log scale)")
    else:
        ax.set_ylabel("logs")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
    ax.legend(frameon=False, fontsize="small")
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


# ---------------------------------------------------------------- render

def _dq_rows(runs: list[dict]) -> list[dict]:
    out = []
    for r in runs:
        stats = _as_json(r.get("statistics")) or {}
        if not isinstance(stats, dict):
            stats = {}
        out.append({**r, "evaluated": stats.get("evaluated_expectations"),
                    "successful": stats.get("successful_expectations"),
                    "success_percent": stats.get("success_percent"),
                    "link": safe_link(r.get("data_docs_path"))})
    return out


def render(data: dict, url: str) -> str:
    champion = data["champion"]
    scalars, matrices = metric_tables(champion["metrics"]) if champion else ([], [])
    params = _as_json(champion["params"]) if champion else None
    dist = level_distribution(data["level_matrix"])
    kinds = {r["kind"]: r for r in data["by_kind"]}
    context = {
        "generated_at": datetime.now(timezone.utc),
        "database": mask_url(url),
        "ingest": data["ingest"] or {},
        "logs": data["logs"] or {},
        "champion": champion,
        "champion_params": json.dumps(params, sort_keys=True, default=str) if params else "",
        "metric_scalars": scalars,
        "metric_matrices": matrices,
        "models": data["models"],
        "model_version": data["model_version"],
        "by_kind": [kinds[k] for k in _kind_order(kinds)],
        "total_findings": sum(int(r["findings"]) for r in data["by_kind"]),
        "top": data["top"],
        "top_limit": TOP_FINDINGS,
        "level_rows": dist["rows"],
        "level_changes": dist["changes"][:30],
        "dq_runs": _dq_rows(data["dq_runs"]),
        "data_docs": data["data_docs_index"],
        "data_docs_link": safe_link(data["data_docs_index"]),
        "detection": data["detection"],
        "plots": {
            "by_kind": plot_findings_by_kind(data["by_kind"]),
            "over_time": plot_findings_over_time(data["by_hour"]),
            "levels": plot_level_distribution(dist),
        },
    }
    return _environment().get_template("report.html.j2").render(**context)


def write_report(url: str, out: Path | None = None) -> Path:
    """Write the HTML report of the database at `url`; return its path.

    Default: <reports_dir>/logintel_report.html. The file is replaced atomically, so a
    reader (the Airflow plugin serves it) never sees half a report.
    """
    out = Path(out) if out is not None else get_settings().reports_dir / REPORT_NAME
    html = render(collect(url), url)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".report-", suffix=".html", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(html)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


__all__ = ["write_report", "collect", "render", "display_text", "safe_finalize", "metric_tables", "safe_link"]
