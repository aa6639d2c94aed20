"""The report's plots: matplotlib figures rendered to inline PNG data URLs (no files, no script)."""
from __future__ import annotations

import base64
import io
from datetime import timedelta
from typing import Any, Iterable

from ..display import display_text, truncate
from ..vocab import FINDING_KINDS, LEVELS

KIND_COLOURS = {"level_understated": "#d62728", "level_overstated": "#1f77b4",
                "missed_anomaly": "#ff7f0e", "false_anomaly": "#7f7f7f"}


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


def kind_order(kinds: Iterable[str]) -> list[str]:
    present = list(dict.fromkeys(kinds))
    return [k for k in FINDING_KINDS if k in present] + sorted(k for k in present if k not in FINDING_KINDS)


def plot_findings_by_kind(by_kind: list[dict]) -> str | None:
    if not by_kind:
        return None
    counts = {r["kind"]: int(r["findings"]) for r in by_kind}
    kinds = kind_order(counts)
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
        for kind in kind_order(series):
            values = [series[kind].get(h, 0) for h in hours]
            ax.bar(hours, values, width=1 / 24 * 0.9, bottom=bottom, align="edge", label=_plot_label(kind),
                   color=KIND_COLOURS.get(kind))
            bottom = [b + v for b, v in zip(bottom, values)]
    else:
        for kind in kind_order(series):
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


def _stacked_by_kind(ax, labels: list, rows: list[dict], key: str, horizontal: bool) -> None:
    """Bars of `labels` (values of rows[key]), one stacked segment per finding kind."""
    series: dict[str, dict] = {}
    for r in rows:
        series.setdefault(r["kind"], {})[r[key]] = int(r["findings"])
    base = [0] * len(labels)
    positions = range(len(labels))
    for kind in kind_order(series):
        values = [series[kind].get(x, 0) for x in labels]
        style = {"label": _plot_label(kind), "color": KIND_COLOURS.get(kind)}
        if horizontal:
            ax.barh(positions, values, 0.8, left=base, **style)
        else:
            ax.bar(positions, values, 0.9, bottom=base, **style)
        base = [b + v for b, v in zip(base, values)]
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small", frameon=False)
    ax.spines[["top", "right"]].set_visible(False)


def plot_findings_by_service(by_service: list[dict]) -> str | None:
    """Findings per service (the 15 with most), stacked by kind."""
    if not by_service:
        return None
    totals: dict[str, int] = {}
    for r in by_service:
        totals[r["service"]] = totals.get(r["service"], 0) + int(r["findings"])
    services = sorted(totals, key=lambda s: (-totals[s], s))
    fig, ax = _figure(7.5, 0.6 + 0.35 * len(services))
    _stacked_by_kind(ax, services, by_service, "service", horizontal=True)
    ax.set_yticks(range(len(services)), [_plot_label(s) for s in services])
    ax.invert_yaxis()
    ax.set_xlabel("findings")
    return _png(fig)


def plot_confidence_distribution(histogram: list[dict]) -> str | None:
    """How confident the findings are: 0.05-wide bins, stacked by kind."""
    if not histogram:
        return None
    bins = [round(0.05 * i, 2) for i in range(20)]
    rows = [{**r, "bin": round(float(r["bin"]), 2)} for r in histogram]
    low = min(r["bin"] for r in rows)
    bins = [b for b in bins if b >= min(low, 0.5)]
    fig, ax = _figure(7.5, 3.0)
    _stacked_by_kind(ax, bins, rows, "bin", horizontal=False)
    ax.set_xticks(range(len(bins)), [f"{b:.2f}" for b in bins], rotation=90, fontsize="small")
    ax.set_xlabel("confidence (bin's lower edge)")
    ax.set_ylabel("findings")
    return _png(fig)


def plot_triage_precision(rows: list[dict]) -> str | None:
    """Triage precision (confirmed / decided) per kind and model version, where someone decided."""
    decided = [r for r in rows if r["precision"] is not None]
    if not decided:
        return None
    labels = [f"{r['kind']} · {r['model_version']}" for r in decided]
    fig, ax = _figure(7.5, 0.6 + 0.4 * len(decided))
    bars = ax.barh(range(len(decided)), [float(r["precision"]) for r in decided],
                   color=[KIND_COLOURS.get(r["kind"], "#9467bd") for r in decided])
    ax.bar_label(bars, labels=[f"{float(r['precision']):.2f} ({int(r['confirmed'])}/{int(r['confirmed']) + int(r['dismissed'])})"
                               for r in decided], padding=3)
    ax.set_yticks(range(len(decided)), [_plot_label(x, 48) for x in labels])
    ax.invert_yaxis()
    ax.set_xlim(0, 1.15)
    ax.set_xlabel("triage precision: confirmed / (confirmed + dismissed)")
    ax.spines[["top", "right"]].set_visible(False)
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
