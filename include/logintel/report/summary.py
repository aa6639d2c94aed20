"""The summary `make demo` prints: counts, model metrics, findings, detection scores, where to look."""
from __future__ import annotations

from .. import db
from ..settings import get_settings
from ..vocab import REPORT_FILE

TOP_GROUPS = 10


def collect(url: str) -> dict:
    from .. import coverage, drift
    from ..evaluate import detection_scores, new_log_findings
    from ..findings import query_groups

    settings = get_settings()
    with db.connect(url) as conn:
        counts = db.query_one(conn, "summary/ingest_totals")
        overview = db.query_one(conn, "summary/overview")
        by_kind = {r["kind"]: r["n"] for r in db.query(conn, "summary/findings_by_kind")}
        dq = db.query(conn, "summary/latest_dq_runs")
        top_groups = query_groups(conn, model_version=overview["version"], status="open", limit=TOP_GROUPS)
        cover = coverage.latest(conn)
        drifted = drift.latest(conn)
        decisions = db.query(conn, "registry/decisions", {"limit": 3})
    docs = next((r["data_docs_path"] for r in dq if r["data_docs_path"]), None)
    return {
        "logs_stored": overview["logs"],
        "ingest": {k: counts[k] for k in ("batches", "read", "loaded", "duplicates", "quarantined")},
        "model": ({k: overview[k] for k in ("version", "metrics", "decision")} if overview["version"] else None),
        "findings_by_kind": by_kind,
        "detection": detection_scores(url) if overview["injected"] else None,
        # the honest figure: logs that arrived after the champion was trained, judged without retraining
        "detection_new_logs": detection_scores(url, new_only=True) if overview["injected"] else None,
        "new_logs": new_log_findings(url) if overview["version"] else None,
        "quality_runs": [{"suite": r["suite"], "success": r["success"], "statistics": r["statistics"]} for r in dq],
        "top_groups": [{k: g[k] for k in ("group_id", "kind", "service", "template_key", "recorded_value",
                                          "suggested_value", "findings", "confidence")} for g in top_groups],
        "open_groups": int(top_groups[0]["total_groups"]) if top_groups else 0,
        "model_decisions": [{k: d[k] for k in ("decided_at", "action", "version", "champion_after", "reason")}
                            for d in decisions],  # the latest champion decisions, newest first
        "coverage": cover,  # rows as stored (`--json` writes their times as text)
        "drift": drifted,
        "data_docs": docs,
        "report": str(settings.reports_dir / REPORT_FILE),
        "airflow_view": settings.ui_url,
    }


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = float(seconds)
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


def coverage_table(rows: list[dict]):
    """The latest scoring run's coverage per service, as a rich table."""
    from rich.table import Table

    table = Table(title=f"scoring coverage after run {rows[0]['scoring_run_id']} (model {rows[0]['model_version']})"
                  if rows else "scoring coverage")
    for col in ("service", "logs", "scored", "coverage", "oldest unscored waits", "scoring lag", "unscorable"):
        table.add_column(col, justify="left" if col == "service" else "right")
    for r in rows:
        table.add_row(r["service"] or "-", f"{r['logs']:,}", f"{r['scored']:,}", f"{float(r['coverage']):.2%}",
                      _duration(r["oldest_unscored_age_s"]), _duration(r["lag_seconds"]), f"{r['unscorable']:,}")
    return table


def _figure(value: float | None, percent: bool = False) -> str:
    if value is None:
        return "-"
    return f"{float(value):.1%}" if percent else f"{float(value):.3f}"


def drift_table(rows: list[dict]):
    """The latest scoring run's drift per service against the model's history, as a rich table."""
    from rich.table import Table

    table = Table(title=f"drift after run {rows[0]['scoring_run_id']} against the history of model "
                        f"{rows[0]['model_version']}" if rows else "drift")
    for col in ("service", "lines", "new service", "unseen templates", "level PSI", "worst template's level PSI",
                "length PSI", "flag rate", "history's flag rate"):
        table.add_column(col, justify="left" if col == "service" else "right")
    for r in rows:
        table.add_row(r["service"] or "-", f"{r['lines']:,}", "yes" if r["new_service"] else "no",
                      _figure(r["unseen_template_share"], True), _figure(r["level_psi"]),
                      _figure(r.get("template_level_psi")), _figure(r["length_psi"]),
                      _figure(r["flag_rate"], True), _figure(r["reference_flag_rate"], True))
    return table


def render(data: dict, console) -> None:
    from rich.table import Table
    from rich.text import Text

    from ..display import display_text

    ing = data["ingest"]
    console.rule("Logintel summary")
    console.print(f"logs stored: {data['logs_stored']:,}  |  read {ing['read']:,} = loaded {ing['loaded']:,} "
                  f"+ duplicates {ing['duplicates']:,} + quarantined {ing['quarantined']:,} "
                  f"({ing['batches']} batches)")
    model = data.get("model")
    if model:
        m = model["metrics"] or {}
        level = m.get("level", m)
        anomaly = m.get("anomaly", {})
        console.print(f"champion model {model['version']}: held-out level macro F1 "
                      f"{level.get('macro_f1', float('nan')):.3f}; anomaly precision "
                      f"{anomaly.get('precision', float('nan')):.3f} recall {anomaly.get('recall', float('nan')):.3f}")
    for d in data.get("model_decisions", [])[:1]:  # the latest champion decision and its figures
        console.print(f"latest model decision ({d['action']}, {d['version']}): {d['reason']}", highlight=False)
    table = Table(title="findings by kind")
    table.add_column("kind")
    table.add_column("count", justify="right")
    for kind, n in data["findings_by_kind"].items():
        table.add_row(kind, f"{n:,}")
    console.print(table)
    new = data.get("new_logs") or {}
    for key, title in (("detection_new_logs", f"detection on the {new.get('new_logs', 0):,} logs that arrived after "
                                              "the model was trained (no retraining)"),
                       ("detection", "detection against the injected truth, all logs")):
        if not data.get(key) or (key == "detection_new_logs" and not new.get("new_logs")):
            continue
        det = Table(title=title)
        for col in ("finding", "findings", "injected", "true positives", "precision", "recall", "f1"):
            det.add_column(col, justify="right")
        for fam, s in data[key].items():
            det.add_row(fam, f"{s['findings']:,}", f"{s['injected']:,}", f"{s['true_positives']:,}",
                        f"{s['precision']}", f"{s['recall']}", f"{s['f1']}")
        console.print(det)
    for run in data["quality_runs"]:
        console.print(f"GX suite {run['suite']}: {'passed' if run['success'] else 'found problems'} "
                      f"({run['statistics'].get('successful_expectations')}/{run['statistics'].get('evaluated_expectations')} expectations)")
    if data["top_groups"]:
        groups = Table(title=f"top {len(data['top_groups'])} of {data['open_groups']:,} open finding groups "
                             "(what to fix; `logintel findings --groups`)")
        for col in ("group", "kind", "service", "call site", "recorded → suggested", "lines", "confidence"):
            groups.add_column(col, justify="right" if col in ("lines", "confidence") else "left",
                              overflow="fold", max_width=48 if col == "call site" else None)
        for g in data["top_groups"]:
            # Text, not str: log data is never parsed as rich markup; control characters made visible
            groups.add_row(*(Text(display_text(v)) for v in (
                g["group_id"], g["kind"], g["service"], g["template_key"],
                f"{g['recorded_value']} → {g['suggested_value']}", f"{g['findings']:,}",
                f"{float(g['confidence']):.3f}")))
        console.print(groups)
    if data.get("coverage"):
        console.print(coverage_table(data["coverage"]))
    if data.get("drift"):
        console.print(drift_table(data["drift"]))
    console.print(f"Data Docs: {data['data_docs']}")
    console.print(f"HTML report: {data['report']}")
    console.print(f"Airflow view (after `make airflow`; triage there or with `logintel triage`): {data['airflow_view']}")
