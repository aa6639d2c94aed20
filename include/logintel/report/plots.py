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
