"""The summary `make demo` prints: counts, model metrics, findings, detection scores, where to look."""
from __future__ import annotations

from .. import db
from ..settings import get_settings


def collect(url: str) -> dict:
    from ..evaluate import detection_scores

    settings = get_settings()
    with db.connect(url) as conn:
        counts = conn.execute(
            """SELECT coalesce(sum(read_count), 0), coalesce(sum(loaded_count), 0),
                      coalesce(sum(duplicate_count), 0), coalesce(sum(quarantined_count), 0), count(*)
               FROM logintel.ingest_batches WHERE status = 'done'""").fetchone()
        logs = conn.execute("SELECT count(*) FROM logintel.logs").fetchone()[0]
        champ = conn.execute("SELECT version, metrics, decision FROM logintel.model_versions "
                             "WHERE status = 'champion'").fetchone()
        by_kind = dict(conn.execute(
            """SELECT f.kind, count(*) FROM logintel.dq_findings f
               JOIN logintel.model_versions m ON m.version = f.model_version AND m.status = 'champion'
               GROUP BY f.kind ORDER BY f.kind""").fetchall())
        dq = conn.execute("""SELECT suite, success, statistics, data_docs_path FROM logintel.dq_runs
                             ORDER BY validated_at DESC LIMIT 2""").fetchall()
        injected = conn.execute("SELECT count(*) FROM logintel.injected_issues").fetchone()[0]
    docs = next((r[3] for r in dq if r[3]), None)
    return {
        "logs_stored": logs,
        "ingest": {"batches": counts[4], "read": counts[0], "loaded": counts[1], "duplicates": counts[2],
                   "quarantined": counts[3]},
        "model": {"version": champ[0], "metrics": champ[1], "decision": champ[2]} if champ else None,
        "findings_by_kind": by_kind,
        "detection": detection_scores(url) if injected else None,
        "quality_runs": [{"suite": r[0], "success": r[1], "statistics": r[2]} for r in dq],
        "data_docs": docs,
        "report": str(settings.reports_dir / "logintel_report.html"),
    }


def render(data: dict, console) -> None:
    from rich.table import Table

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
    table = Table(title="findings by kind")
    table.add_column("kind")
    table.add_column("count", justify="right")
    for kind, n in data["findings_by_kind"].items():
        table.add_row(kind, f"{n:,}")
    console.print(table)
    if data.get("detection"):
        det = Table(title="detection against the injected truth")
        for col in ("finding", "findings", "injected", "true positives", "precision", "recall", "f1"):
            det.add_column(col, justify="right")
        for fam, s in data["detection"].items():
            det.add_row(fam, f"{s['findings']:,}", f"{s['injected']:,}", f"{s['true_positives']:,}",
                        f"{s['precision']}", f"{s['recall']}", f"{s['f1']}")
        console.print(det)
    for run in data["quality_runs"]:
        console.print(f"GX suite {run['suite']}: {'passed' if run['success'] else 'found problems'} "
                      f"({run['statistics'].get('successful_expectations')}/{run['statistics'].get('evaluated_expectations')} expectations)")
    console.print(f"Data Docs: {data['data_docs']}")
    console.print(f"HTML report: {data['report']}")
