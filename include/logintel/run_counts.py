"""What a scoring run scored, counted while it scores (migration 024).

Each chunk's lines per (service, template, recorded level) (lines, flagged, judged, the earliest
ingest time) and per (service, log2 message-length bin), apart for the lines of the model's
history, are COPYed into ``logintel.scoring_run_counts`` in the chunk's own transaction, so a
chunk's counts exist exactly when its predictions do. The drift snapshot (``drift.py``) reads
these few thousand rows instead of joining each of the run's predictions with its log again.

A run is ``counted`` when every chunk it wrote has its counts: a chunk that falls back to the
upsert (another run wrote some of its rows meanwhile) may count rows that run counted too, so it
marks the run uncounted, and drift is then computed from the predictions as before.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import db

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["COLUMNS", "chunk_counts", "record", "mark_uncounted", "max_log_id", "all_counted"]

COLUMNS = ["scoring_run_id", "chunk_start", "in_history", "service", "template_key", "level", "length_bin",
           "lines", "flagged", "judged", "first_ingested_at"]


def chunk_counts(frame: "pd.DataFrame", template_keys, history_max_id: int) -> "tuple[pd.DataFrame, pd.DataFrame]":
    """(per in_history, service, template_key, level: lines, flagged, judged, first_ingested_at;
    per in_history, service, length_bin: lines, flagged, judged) of one scored chunk.

    ``frame``: the chunk as ``frames.read_logs`` reads it (id, service, level, is_anomaly,
    length_bin, ingested_us); ``template_keys``: each row's template key, as predicted. Grouped
    on integer codes (the writer thread shares the GIL with the next chunk's scoring)."""
    import numpy as np
    import pandas as pd

    flag = frame["is_anomaly"]
    flagged = flag.fillna(False).to_numpy(dtype=np.int64)
    judged = flag.notna().to_numpy(dtype=np.int64)
    history = (frame["id"].to_numpy() <= history_max_id).astype(np.int64)
    svc, svc_values = pd.factorize(frame["service"].to_numpy(dtype=object))
    key, key_values = pd.factorize(np.asarray(template_keys, dtype=object))
    lvl, lvl_values = pd.factorize(frame["level"].to_numpy(dtype=object))
    ingested = frame["ingested_us"].to_numpy(dtype=np.int64)

    def grouped(parts: list[tuple[np.ndarray, int]]) -> tuple[list[np.ndarray], dict[str, np.ndarray]]:
        code = np.zeros(len(frame), dtype=np.int64)
        for values, size in parts:  # one mixed-radix code per group
            code = code * size + values
        groups, inverse = np.unique(code, return_inverse=True)
        sums = {"lines": np.bincount(inverse), "flagged": np.bincount(inverse, weights=flagged).astype(np.int64),
                "judged": np.bincount(inverse, weights=judged).astype(np.int64)}
        first = np.full(len(groups), np.iinfo(np.int64).max)
        np.minimum.at(first, inverse, ingested)
        sums["first_ingested_us"] = first
        digits = []
        for _, size in reversed(parts):
            groups, digit = np.divmod(groups, size)
            digits.append(digit)
        return digits[::-1], sums

    (h, s, k, v), sums = grouped([(history, 2), (svc, len(svc_values)), (key, len(key_values)),
                                  (lvl, len(lvl_values))])
    templates = pd.DataFrame({"in_history": h.astype(bool), "service": np.asarray(svc_values, dtype=object)[s],
                              "template_key": np.asarray(key_values, dtype=object)[k],
                              "level": np.asarray(lvl_values, dtype=object)[v], **sums})
    bins = frame["length_bin"].to_numpy(dtype=np.int64)
    (h, s, b), sums = grouped([(history, 2), (svc, len(svc_values)), (bins, 17)])
    lengths = pd.DataFrame({"in_history": h.astype(bool), "service": np.asarray(svc_values, dtype=object)[s],
                            "length_bin": b, "lines": sums["lines"], "flagged": sums["flagged"],
                            "judged": sums["judged"]})
    return templates, lengths


def _rows(run_id: int, chunk_start: int, templates: "pd.DataFrame", lengths: "pd.DataFrame"):
    from datetime import datetime, timedelta, timezone

    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    for r in templates.itertuples(index=False):
        yield (run_id, chunk_start, bool(r.in_history), r.service, r.template_key, r.level, None,
               int(r.lines), int(r.flagged), int(r.judged), epoch + timedelta(microseconds=int(r.first_ingested_us)))
    for r in lengths.itertuples(index=False):
        yield (run_id, chunk_start, bool(r.in_history), r.service, None, None, int(r.length_bin),
               int(r.lines), int(r.flagged), int(r.judged), None)


def record(conn, run_id: int, chunk_start: int, frame: "pd.DataFrame", template_keys, history_max_id: int) -> int:
    """COPY one chunk's counts in the caller's (the chunk's) transaction; returns the rows stored."""
    templates, lengths = chunk_counts(frame, template_keys, history_max_id)
    return db.copy_rows(conn, "logintel.scoring_run_counts", COLUMNS,
                        _rows(int(run_id), int(chunk_start), templates, lengths))


def mark_uncounted(conn, run_id: int) -> None:
    conn.execute(db.sql("scoring/mark_uncounted"), {"run_id": int(run_id)})


def max_log_id(conn, model_version: str) -> int:
    """The last log id of the version's history (its lines are counted apart)."""
    return int(conn.execute(db.sql("scoring/history_max_log_id"), {"model_version": model_version}).fetchone()[0])


def all_counted(conn, model_version: str) -> bool:
    """Every scoring run of the version counted what it scored (its history's counts are whole)."""
    return bool(conn.execute(db.sql("drift/all_runs_counted"), {"model_version": model_version}).fetchone()[0])
