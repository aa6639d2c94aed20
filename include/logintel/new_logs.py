"""The new-logs protocol: train on the earlier logs, then judge the logs that arrive later
without retraining, as the six-hourly job does.

1. :func:`split_by_time` writes the logs of a prepared database as JSON-lines files by time:
   a history (the first ``train_fraction`` of the lines) and ``batches`` later files.
2. :func:`detect_on_new_logs` ingests the history, trains once, scores it and records
   findings; then, batch by batch, ingests the next file through the real ingest path,
   injects issues into that batch only, scores the unscored logs with the same champion and
   records findings. Scores count only the logs that arrived after the training data.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from . import db

PROTOCOLS = ("new-logs", "in-sample")


@dataclass
class Split:
    history: Path
    batches: list[Path]
    lines: list[int]  # lines per file: history first

    def as_dict(self) -> dict:
        return {"history": str(self.history), "batches": [str(b) for b in self.batches], "lines": self.lines}


def split_by_time(url: str, out_dir: Path, *, train_fraction: float = 0.7, batches: int = 3) -> Split:
    """History + later batches of the logs in `url`, as JSONL files in `out_dir` (by timestamp share)."""
    if not 0 < train_fraction < 1:
        raise ValueError(f"train_fraction must be between 0 and 1, got {train_fraction}")
    if batches < 1:
        raise ValueError(f"batches must be at least 1, got {batches}")
    fractions = [train_fraction + (1 - train_fraction) * i / batches for i in range(batches)]
    out_dir.mkdir(parents=True, exist_ok=True)
    with db.connect(url) as conn:
        cuts = conn.execute(db.sql("evaluate/time_cuts"), {"fractions": fractions}).fetchone()[0]
        if not cuts or cuts[0] is None:
            raise ValueError("no stored log has a timestamp: the logs cannot be split by time")
        bounds = [None, *cuts, None]
        paths, lines = [], []
        for i in range(len(bounds) - 1):
            path = out_dir / ("history.jsonl" if i == 0 else f"batch_{i:02d}.jsonl")
            n = 0
            with path.open("w", encoding="utf-8") as out:
                for (line,) in conn.execute(db.sql("evaluate/export_range"),
                                            {"lo": bounds[i], "hi": bounds[i + 1], "first": i == 0}):
                    out.write(line + "\n")
                    n += 1
            paths.append(path)
            lines.append(n)
    return Split(paths[0], paths[1:], lines)


def imitate_alert_labels(url: str, *, share: float = 0.1, seed: int = 1, min_lines: int = 10) -> dict:
    """Relabel the stored logs like a source that flags its alert lines: every line of a few
    pseudo-randomly chosen templates (>= `min_lines` lines each, ~`share` of all lines) is
    flagged, every other line is not. For evaluation only (the bench's alert check)."""
    import hashlib

    from . import frames
    from .masking import MASKER_VERSION
    from .ml.features import frame_template_keys

    with db.transaction(url) as conn:
        df = frames.read_frame(conn, db.sql("evaluate/alert_candidates"), {"masker_version": MASKER_VERSION},
                               dtypes={"id": "int64", "service": "str", "message": "str", "template_id": "int64",
                                       "template_key": "str"})
        df["template"] = frame_template_keys(df)  # the catalog's keys
        sizes = df.groupby(["service", "template"]).size()
        target = share * len(df)
        order = sorted(sizes.index, key=lambda k: hashlib.md5(f"{seed}:{k[0]}:{k[1]}".encode()).hexdigest())
        chosen, covered = [], 0
        for key in order:
            if covered >= target:
                break
            if sizes[key] < min_lines or sizes[key] > 0.5 * target + min_lines:
                continue
            chosen.append(key)
            covered += int(sizes[key])
        ids = df.set_index(["service", "template"]).loc[chosen, "id"] if chosen else []
        conn.execute("CREATE TEMP TABLE alert_ids (id bigint PRIMARY KEY) ON COMMIT DROP")
        db.copy_rows(conn, "alert_ids", ["id"], ((int(i),) for i in ids))
        conn.execute(db.sql("evaluate/set_alert_flags"))
    return {"templates": len(chosen), "flagged": covered, "lines": len(df)}


def detect_on_new_logs(url: str, split: Split, *, rate: float, scheme: str, seed: int,
                       anomaly_rate: float | None = None, partitions: int = 1,
                       history_loaded: bool = False, timings: dict | None = None) -> dict:
    """Train on the history, then ingest -> inject (that batch only) -> score -> findings per
    later batch, with the same model. `scheme` "none" injects nothing (a clean new batch)."""
    from . import corrupt, findings, registry, scoring, training
    from .evaluate import detection_scores, finding_outcomes, new_log_findings, timed_step
    from .ingest import ingest_paths

    timings = {} if timings is None else timings
    timed = functools.partial(timed_step, timings)
    if not history_loaded:
        timed("ingest_history", ingest_paths, [split.history], url=url)
    trained = timed("train", training.train_and_register, url, seed=seed)
    timed("score_history", scoring.score_all, url, run_key=f"eval-{seed}-history", partitions=partitions)
    timed("findings_history", findings.record_findings, url, f"eval-{seed}-history")
    injected, scored = [], 0
    for i, path in enumerate(split.batches, start=1):
        batch = timed(f"ingest_batch_{i}", ingest_paths, [path], url=url)
        if scheme != "none":
            injected.append(timed(f"inject_batch_{i}", corrupt.inject, url, rate=rate, scheme=scheme, seed=seed,
                                  anomaly_rate=anomaly_rate, batch=batch.batch_id).as_dict())
        scored += timed(f"score_batch_{i}", scoring.score_all, url, run_key=f"eval-{seed}-batch{i}",
                        partitions=partitions)["scored"]
        timed(f"findings_batch_{i}", findings.record_findings, url, f"eval-{seed}-batch{i}")
    champion = registry.require_champion(url).version
    if champion != trained.version:  # the protocol's promise: the later logs are judged by the earlier model
        raise RuntimeError(f"the champion changed during the protocol ({trained.version} -> {champion})")
    return {"protocol": "new-logs", "model": trained.version, "metrics": trained.metrics,
            "injected": injected, "scored_new": scored, "new_logs": new_log_findings(url),
            "scores": detection_scores(url, new_only=True), "outcomes": finding_outcomes(url, new_only=True),
            "timings": timings}


__all__ = ["PROTOCOLS", "Split", "split_by_time", "detect_on_new_logs", "imitate_alert_labels"]
