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
def throwaway_database(keep: bool = False):
    """A new database on the configured server (embedded by default), dropped afterwards."""
    server = db.server_url()
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


def detection_scores(url: str) -> dict:
    """Precision / recall of the champion's findings against everything injected so far."""
    out: dict = {}
    with db.connect(url) as conn:
        for family, findings, injected, tp, exact in conn.execute(db.sql("evaluate/detection_scores")):
            precision = tp / findings if findings else (1.0 if not injected else 0.0)
            recall = tp / injected if injected else None
            f1 = (2 * precision * recall / (precision + recall)) if recall and precision else 0.0
            out[family] = {"findings": findings, "injected": injected, "true_positives": tp,
                           "exact_suggestions": exact, "precision": round(precision, 4),
                           "recall": None if recall is None else round(recall, 4), "f1": round(f1, 4)}
    return out


def _timed(timings: dict, name: str, fn, *a, **k):
    t0 = time.perf_counter()
    value = fn(*a, **k)
    timings[name] = round(time.perf_counter() - t0, 3)
    return value


def detect_after_ingest(url: str, *, rate: float, scheme: str, seed: int, partitions: int = 1,
                        timings: dict | None = None) -> dict:
    """Inject, train, score and record findings on logs already ingested into `url`."""
    from . import corrupt, findings, scoring, training

    timings = {} if timings is None else timings
    timed = functools.partial(_timed, timings)
    injected = timed("inject", corrupt.inject, url, rate=rate, scheme=scheme, seed=seed)
    trained = timed("train", training.train_and_register, url, seed=seed)
    scored = timed("score", scoring.score_all, url, run_key=f"eval-{seed}", partitions=partitions)
    found = timed("findings", findings.record_findings, url, f"eval-{seed}")
    return {"injected": injected.as_dict(), "model": trained.version, "metrics": trained.metrics,
            "scored": scored["scored"], "findings": found.by_kind, "scores": detection_scores(url),
            "timings": timings}


def run_on(url: str, files: list[Path], *, rate: float, scheme: str, seed: int,
           service: str | None = None, partitions: int = 1) -> dict:
    """Ingest, inject, train, score and record findings on `url`; return scores and timings."""
    from .ingest import ingest_paths

    timings: dict[str, float] = {}
    batch = _timed(timings, "ingest", ingest_paths, files, default_service=service, url=url)
    result = detect_after_ingest(url, rate=rate, scheme=scheme, seed=seed, partitions=partitions, timings=timings)
    return {"ingest": batch.as_dict(), **result}


def evaluate_file(path: Path, *, rate: float = 0.03, scheme: str = "reference", seed: int = 1,
                  service: str | None = None, keep: bool = False) -> dict:
    with scratch_dirs(), throwaway_database(keep) as url:
        result = run_on(url, [path], rate=rate, scheme=scheme, seed=seed, service=service)
    result.update({"input": str(path), "rate": rate, "scheme": scheme, "seed": seed})
    return result
