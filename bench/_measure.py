"""Child-process side of bench/pipeline.py: run one stage in a fresh process, measure it.

Every stage runs in its own process started with the "spawn" method, so its memory is its
own. The worker first imports what the stage needs (timed separately: an Airflow task pays
it too, but it is not the stage's work), reports "ready", waits for "go", runs the stage
and reports wall seconds, CPU seconds and its peak RSS.

Peak RSS is the kernel's high-water mark of the process's address space, VmHWM in
/proc/self/status. getrusage(RUSAGE_SELF / RUSAGE_CHILDREN).ru_maxrss is NOT used as the
figure: Linux carries ru_maxrss across fork+exec, so a spawned child reports at least its
parent's peak (a 1.5 GB parent makes every child "1.5 GB"). ru_maxrss is recorded too,
for reference. VmHWM belongs to the exec'd image only.
"""
from __future__ import annotations

import importlib
import os
import resource
import time
import traceback

# Modules imported before the clock starts, per stage.
WARM = {
    "generate": ["numpy", "logintel.synthetic"],
    "ingest": ["logintel.ingest", "logintel.sources"],
    "quality": ["great_expectations", "sqlalchemy", "logintel.quality.run"],
    "inject": ["logintel.corrupt"],
    "train": ["pandas", "sklearn", "logintel.ml", "logintel.frames", "logintel.training"],
    "score": ["pandas", "sklearn", "logintel.ml", "logintel.frames", "logintel.scoring"],
    "score_partition": ["pandas", "sklearn", "logintel.ml", "logintel.frames", "logintel.scoring"],
    "findings": ["pandas", "sklearn", "great_expectations", "logintel.ml", "logintel.verdicts",
                 "logintel.findings", "logintel.quality.run"],
    "replaced": ["sklearn.ensemble", "sklearn.feature_extraction.text", "psycopg"],
}


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def peak_rss_mb() -> float:
    kb = _status_kb("VmHWM")
    if kb is None:  # not Linux: fall back (may include the parent's peak, see above)
        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024


def rss_mb() -> float:
    kb = _status_kb("VmRSS")
    return (kb or 0) / 1024


# ---------------------------------------------------------------------------- stages
# Each takes (url, params) and returns a small JSON-able dict; "n" is the logs processed.

def _generate(url, p):
    from logintel.synthetic import generate, write_logs

    n = write_logs(generate(p["logs"], seed=p.get("seed", 42)), p["path"], "jsonl")
    return {"n": int(n), "bytes": os.path.getsize(p["path"])}


def _ingest(url, p):
    from logintel.ingest import ingest_paths

    r = ingest_paths([p["path"]], url=url)
    return {"n": r.read, **r.as_dict()}


def _quality(url, p):
    from logintel.quality.run import pending_batches, validate_batches

    ids = pending_batches(url)
    run = validate_batches(url, ids, p["run_key"])
    return {"n": p["logs"], "batches": ids, "success": run.success, "statistics": run.statistics,
            "failed": [f["expectation"] + ":" + str(f["column"]) for f in run.failed]}


def _inject(url, p):
    from logintel.corrupt import inject

    r = inject(url, rate=p.get("rate", 0.03))
    return {"n": p["logs"], **r.as_dict()}


def _train(url, p):
    from logintel.training import train_and_register

    r = train_and_register(url)
    m = r.metrics or {}
    level = m.get("level", {}) if isinstance(m.get("level"), dict) else {}
    return {"n": p["logs"], "training_rows": m.get("training_rows"), "version": r.version, "status": r.status,
            "macro_f1": level.get("macro_f1", m.get("macro_f1")), "n_templates": m.get("n_templates"),
            "n_template_services": m.get("n_template_services"),
            "fit_rows_anomaly": (m.get("anomaly") or {}).get("fit_rows"),
            "model_timings_cumulative_s": m.get("timings"), "model_train_s": m.get("train_seconds")}


def _score(url, p):
    from logintel.scoring import score_all

    r = score_all(url, run_key=p["run_key"], partitions=p.get("partitions", 1))
    return {"n": int(r["scored"]), **r}


def _score_partition(url, p):
    from logintel.scoring import ScoringRun, score_partition

    r = score_partition(url, ScoringRun.from_dict(p["run"]), p["lo"], p["hi"])
    return {"n": r.scored, "lo": r.lo, "hi": r.hi, "chunks": r.chunks}


def _findings(url, p):
    from logintel.findings import record_findings

    r = record_findings(url, p["run_key"])
    return {"n": p["logs"], "verdicts": r.verdicts, "new_findings": r.new_findings,
            "by_kind": r.by_kind, "gx_success": r.gx_success}


def _replaced(url, p):
    """The method we replace: TF-IDF(1000) + RandomForest(100), one row at a time, one INSERT each."""
    import psycopg
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.feature_extraction.text import TfidfVectorizer

    rows_wanted = int(p.get("rows", 5000))
    probe = int(p.get("probe", 500))
    budget = float(p.get("budget", 120.0))
    with psycopg.connect(url, autocommit=True) as conn:
        t0 = time.perf_counter()
        data = conn.execute(
            "SELECT id, message, level FROM logintel.logs WHERE message IS NOT NULL AND level IS NOT NULL "
            "ORDER BY md5(id::text) LIMIT %s", (rows_wanted,)).fetchall()
        read_s = time.perf_counter() - t0
        ids = [r[0] for r in data]
        msgs = [r[1] for r in data]
        levels = [r[2] for r in data]
        t0 = time.perf_counter()
        vec = TfidfVectorizer(max_features=1000)
        X = vec.fit_transform(msgs)
        clf = RandomForestClassifier(n_estimators=100, random_state=0)
        clf.fit(X, levels)
        train_s = time.perf_counter() - t0
        conn.execute("DROP TABLE IF EXISTS public.bench_replaced_predictions")
        conn.execute("CREATE TABLE public.bench_replaced_predictions "
                     "(log_id bigint, predicted_level text, scored_at timestamptz DEFAULT now())")
        done = 0
        predict_s = 0.0
        clock = time.perf_counter
        t0 = clock()
        limit = min(probe, len(data))
        while True:
            for i in range(done, limit):
                t1 = clock()
                level = clf.predict(vec.transform([msgs[i]]))[0]
                predict_s += clock() - t1
                conn.execute("INSERT INTO public.bench_replaced_predictions (log_id, predicted_level) "
                             "VALUES (%s, %s)", (ids[i], str(level)))
            done = limit
            elapsed = time.perf_counter() - t0
            if done >= len(data):
                break
            # Continue to the full subset only if it fits in the time budget.
            if elapsed / done * len(data) > budget:
                break
            limit = len(data)
        stored = conn.execute("SELECT count(*) FROM public.bench_replaced_predictions").fetchone()[0]
    per_log = elapsed / done
    return {"n": done, "subset": len(data), "measured_rows": done, "extrapolated": done < len(data),
            "read_s": round(read_s, 3), "train_s": round(train_s, 3), "predict_insert_s": round(elapsed, 3),
            "per_log_ms": round(per_log * 1000, 4), "logs_per_s": 1.0 / per_log,
            "predict_ms_per_log": round(predict_s / done * 1000, 4),
            "insert_ms_per_log": round((elapsed - predict_s) / done * 1000, 4),
            "est_subset_s": round(per_log * len(data), 1), "stored": int(stored),
            "train_accuracy_on_subset": float(clf.score(X, levels))}


STAGES = {
    "generate": _generate, "ingest": _ingest, "quality": _quality, "inject": _inject,
    "train": _train, "score": _score, "score_partition": _score_partition,
    "findings": _findings, "replaced": _replaced,
}


def worker(stage: str, url: str, params: dict, profile: bool, inq, outq) -> None:
    """Entry point of a spawned child: warm imports, report ready, wait for go, run, report."""
    try:
        import logging
        import warnings

        warnings.filterwarnings("ignore")
        logging.basicConfig(level=logging.WARNING)
        t0 = time.perf_counter()
        for mod in WARM.get(stage, []):
            importlib.import_module(mod)
        import_s = time.perf_counter() - t0
        base_rss = rss_mb()
        outq.put(("ready", {"import_s": import_s, "base_rss_mb": base_rss}))
        go = inq.get()  # "go", or a dict of late parameters (a partition's range)
        if isinstance(go, dict):
            params = {**params, **go}
        fn = STAGES[stage]
        prof = None
        if profile:
            import cProfile

            prof = cProfile.Profile()
        ru0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        if prof:
            result = prof.runcall(fn, url, params)
        else:
            result = fn(url, params)
        wall = time.perf_counter() - t0
        ru1 = resource.getrusage(resource.RUSAGE_SELF)
        out = {
            "stage": stage, "wall_s": wall, "result": result,
            "cpu_user_s": ru1.ru_utime - ru0.ru_utime, "cpu_sys_s": ru1.ru_stime - ru0.ru_stime,
            "import_s": import_s, "base_rss_mb": base_rss, "peak_rss_mb": peak_rss_mb(),
            "ru_maxrss_mb_inherited": ru1.ru_maxrss / 1024, "pid": os.getpid(),
        }
        if prof:
            import io
            import pstats

            buf = io.StringIO()
            pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(int(params.get("profile_top", 15)))
            out["profile"] = buf.getvalue()
            if params.get("profile_out"):
                prof.dump_stats(params["profile_out"])
        outq.put(("done", out))
    except BaseException as exc:  # report, do not hang the parent
        outq.put(("error", {"stage": stage, "error": repr(exc), "traceback": traceback.format_exc()}))
