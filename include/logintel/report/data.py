"""What the report shows, read from the database in one connection."""
from __future__ import annotations

import json
from typing import Any

from .. import db
from ..display import truncate
from ..findings import query_groups
from ..quality.context import local_site as gx_site
from ..settings import get_settings
from ..vocab import LEVELS

TOP_GROUPS = 50
DQ_RUNS = 10
MODELS = 10
METRIC_COLUMNS = ["precision", "recall", "f1", "f1_score", "f1-score", "support"]


def as_json(value: Any) -> Any:
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

    walk("", as_json(metrics))
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
    with db.connect(url) as conn:
        champion = db.query_one(conn, "report/champion")
        version = champion["version"] if champion else None
        scope = {"model_version": version}
        data = {
            "ingest": db.query_one(conn, "report/ingest_counts"),
            "logs": db.query_one(conn, "report/log_counts"),
            "champion": champion,
            "models": db.query(conn, "report/models", {"limit": MODELS}),
            "by_kind": db.query(conn, "report/findings_by_kind", scope),
            "by_hour": db.query(conn, "report/findings_by_hour", scope),
            "by_service": db.query(conn, "report/findings_by_service", scope),
            "confidences": db.query(conn, "report/confidence_histogram", scope),
            "triage": db.query(conn, "report/triage_precision"),
            "level_matrix": db.query(conn, "report/level_matrix", scope),
            # what a person would fix first: findings grouped by call site / episode
            "groups": query_groups(conn, model_version=version, limit=TOP_GROUPS),
            "dq_runs": db.query(conn, "report/dq_runs", {"limit": DQ_RUNS}),
            # is everything that arrived scored, and how long did it wait: per service now, per run over time
            "coverage": db.query(conn, "coverage/latest"),
            "coverage_history": db.query(conn, "coverage/history", {"limit": DQ_RUNS}),
            # do the newest logs still look like the model's history: per service now, per run over time
            "drift": db.query(conn, "drift/latest"),
            "drift_history": db.query(conn, "drift/history", {"limit": DQ_RUNS}),
            "injected": bool(db.query_one(conn, "report/injected_exists")["injected"]),
        }
    data["detection"] = _detection(url) if data["injected"] else None
    data["model_version"] = version
    local_site = gx_site(url) / "index.html"
    data["data_docs_index"] = str(local_site) if local_site.exists() else next(
        (r["data_docs_path"] for r in data["dq_runs"] if r["data_docs_path"]), None)
    return data
