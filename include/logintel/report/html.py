"""The HTML report: one self-contained page (inline plots, no script) rebuilt after every scoring run."""
from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from ..display import jinja_environment, safe_link
from ..settings import get_settings, mask_url
from ..vocab import REPORT_FILE
from .data import TOP_GROUPS, as_json, collect, metric_tables
from .plots import (kind_order, level_distribution, plot_confidence_distribution, plot_findings_by_kind,
                    plot_findings_by_service, plot_findings_over_time, plot_level_distribution,
                    plot_triage_precision)


def _environment():
    from jinja2 import PackageLoader

    return jinja_environment(PackageLoader("logintel", "report"))


def _dq_rows(runs: list[dict]) -> list[dict]:
    out = []
    for r in runs:
        stats = as_json(r.get("statistics")) or {}
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
    params = as_json(champion["params"]) if champion else None
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
        "by_kind": [kinds[k] for k in kind_order(kinds)],
        "total_findings": sum(int(r["findings"]) for r in data["by_kind"]),
        "triage": data["triage"],
        "groups": data["groups"],
        "groups_limit": TOP_GROUPS,
        "level_rows": dist["rows"],
        "level_changes": dist["changes"][:30],
        "dq_runs": _dq_rows(data["dq_runs"]),
        "coverage": data["coverage"],
        "coverage_history": data["coverage_history"],
        "drift": data["drift"],
        "drift_history": data["drift_history"],
        "settings": get_settings(),  # the limits the coverage and drift suites check
        "data_docs": data["data_docs_index"],
        "data_docs_link": safe_link(data["data_docs_index"]),
        "detection": data["detection"],
        "plots": {
            "by_kind": plot_findings_by_kind(data["by_kind"]),
            "over_time": plot_findings_over_time(data["by_hour"]),
            "levels": plot_level_distribution(dist),
            "by_service": plot_findings_by_service(data["by_service"]),
            "confidence": plot_confidence_distribution(data["confidences"]),
            "triage": plot_triage_precision(data["triage"]),
        },
    }
    return _environment().get_template("report.html.j2").render(**context)


def write_report(url: str, out: Path | None = None) -> Path:
    """Write the HTML report of the database at `url`; return its path.

    Default: <reports_dir>/logintel_report.html. The file is replaced atomically, so a
    reader (the Airflow plugin serves it) never sees half a report.
    """
    out = Path(out) if out is not None else get_settings().reports_dir / REPORT_FILE
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


__all__ = ["write_report", "render"]
