"""`logintel evaluate`: the real code path on a throwaway database, scored against injected truth."""
from __future__ import annotations

import functools
import shutil
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import psycopg

from . import db
from .settings import overridden


@contextmanager
def throwaway_database(keep: bool = False, server: str | None = None):
    """A new database on `server` (default: the configured one, embedded by default), dropped afterwards."""
    server = server or db.server_url()
    name = f"logintel_eval_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))
    url = db.with_database(server, name)
    try:
        db.upgrade(url)
        yield url
    finally:
        if not keep:
            drop_database(url)


@contextmanager
def scratch_dirs(keep: bool = False):
    """Models and GX output of an evaluation go to a temporary folder, not the project's
    (kept with keep=True, e.g. when the database that points at the artifacts is kept)."""
    tmp = Path(tempfile.mkdtemp(prefix="logintel-eval-"))
    try:
        with overridden(models_dir=tmp / "models", gx_root=tmp):  # this context only; the environment stays as it is
            yield tmp
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)


def clone_database(template_url: str) -> str:
    """A copy of a prepared database (CREATE DATABASE ... TEMPLATE): one ingest, many experiments."""
    server = db.with_database(template_url, "postgres")
    name = f"logintel_eval_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            psycopg.sql.Identifier(name), psycopg.sql.Identifier(db.database_name(template_url))))
    return db.with_database(template_url, name)


def drop_database(url: str) -> None:
    with psycopg.connect(db.with_database(url, "postgres"), autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            psycopg.sql.Identifier(db.database_name(url))))


def detection_scores(url: str, new_only: bool = False) -> dict:
    """Precision / recall of the champion's findings against everything injected so far
    (with `new_only`: on the logs that arrived after its training data only)."""
    out: dict = {}
    with db.connect(url) as conn:
        for family, findings, injected, tp, exact in conn.execute(db.sql("evaluate/detection_scores"),
                                                                  {"new_only": new_only}):
            precision = tp / findings if findings else (1.0 if not injected else 0.0)
            recall = tp / injected if injected else None
            f1 = (2 * precision * recall / (precision + recall)) if recall and precision else 0.0
            out[family] = {"findings": findings, "injected": injected, "true_positives": tp,
                           "exact_suggestions": exact, "precision": round(precision, 4),
                           "recall": None if recall is None else round(recall, 4), "f1": round(f1, 4)}
    return out


def new_log_findings(url: str) -> dict:
    """Lines that arrived after the champion's training data, and its findings on them per kind."""
    from .vocab import FINDING_KINDS

    with db.connect(url) as conn:
        rows = conn.execute(db.sql("evaluate/new_log_findings"), {"kinds": list(FINDING_KINDS)}).fetchall()
    return {"new_logs": rows[0][1] if rows else 0, "by_kind": {kind: n for kind, _, n in rows}}


def finding_outcomes(url: str, new_only: bool = False) -> list[tuple[str, float, bool]]:
    """(family, confidence, right?) of every champion finding, for calibration tables."""
    with db.connect(url) as conn:
        return [(f, float(c), bool(ok)) for f, c, ok in
                conn.execute(db.sql("evaluate/finding_outcomes"), {"new_only": new_only})]


def timed_step(timings: dict, name: str, fn, *a, **k):
    """Call fn and record its wall time under `name`."""
    t0 = time.perf_counter()
    value = fn(*a, **k)
    timings[name] = round(time.perf_counter() - t0, 3)
    return value


def detect_after_ingest(url: str, *, rate: float, scheme: str, seed: int, partitions: int = 1,
                        timings: dict | None = None) -> dict:
    """Inject, train, score and record findings on logs already ingested into `url`."""
    from . import corrupt, findings, scoring, training

    timings = {} if timings is None else timings
    timed = functools.partial(timed_step, timings)
    injected = timed("inject", corrupt.inject, url, rate=rate, scheme=scheme, seed=seed)
    trained = timed("train", training.train_and_register, url, seed=seed)
    scored = timed("score", scoring.score_all, url, run_key=f"eval-{seed}", partitions=partitions)
    found = timed("findings", findings.record_findings, url, f"eval-{seed}")
    return {"injected": injected.as_dict(), "model": trained.version, "metrics": trained.metrics,
            "scored": scored["scored"], "findings": found.by_kind, "scores": detection_scores(url),
            "outcomes": finding_outcomes(url), "timings": timings}


def run_on(url: str, files: list[Path], *, rate: float, scheme: str, seed: int,
           service: str | None = None, partitions: int = 1) -> dict:
    """Ingest, inject, train, score and record findings on `url`; return scores and timings."""
    from .ingest import ingest_paths

    timings: dict[str, float] = {}
    batch = timed_step(timings, "ingest", ingest_paths, files, default_service=service, url=url)
    result = detect_after_ingest(url, rate=rate, scheme=scheme, seed=seed, partitions=partitions, timings=timings)
    return {"ingest": batch.as_dict(), **result}


def evaluate_file(path: Path, *, rate: float = 0.03, scheme: str = "reference", seed: int = 1,
                  service: str | None = None, keep: bool = False, protocol: str = "in-sample",
                  train_fraction: float = 0.7, batches: int = 3) -> dict:
    """`logintel evaluate`: in-sample (ingest, inject, train, score everything) or new-logs
    (train on the earlier `train_fraction`, judge `batches` later batches without retraining)."""
    from .new_logs import PROTOCOLS, detect_on_new_logs, split_by_time

    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}")
    with scratch_dirs(keep) as tmp:
        if protocol == "in-sample":
            with throwaway_database(keep) as url:
                result = run_on(url, [path], rate=rate, scheme=scheme, seed=seed, service=service)
        else:
            from .ingest import ingest_paths

            with throwaway_database() as source:  # parsed once, then replayed as files by time
                ingest_paths([path], default_service=service, url=source)
                split = split_by_time(source, tmp / "split", train_fraction=train_fraction, batches=batches)
            with throwaway_database(keep) as url:
                result = detect_on_new_logs(url, split, rate=rate, scheme=scheme, seed=seed)
            result["split"] = split.as_dict()
    result.update({"input": str(path), "rate": rate, "scheme": scheme, "seed": seed, "protocol": protocol})
    return result
