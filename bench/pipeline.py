"""Speed and memory benchmark of the Logintel pipeline: the real library code, a real PostgreSQL.

    source scripts/env.sh
    python bench/pipeline.py --logs 1000000 [--partitions 1] [--json out.json] [--keep]
                             [--partitions-compare] [--profile score[,train,...]]
                             [--rss-baseline 1m.json] [--replaced-rows 5000] [--replaced-budget 120]

On a throwaway database (logintel.evaluate.throwaway_database, dropped afterwards unless
--keep) and scratch model/GX folders, it generates N logs and runs ingest -> quality ->
inject (3 %) -> train -> score -> findings, each stage in a fresh spawned process, and
reports wall seconds, logs/s and the stage's peak RSS (see bench/_measure.py for how RSS
is measured). It also times the method we replace (TF-IDF + RandomForest, one row at a
time, one INSERT per row) on a 5,000-log subset, and, with --partitions-compare, scoring
with 1 process vs 2 partitions in 2 parallel processes. In the same run and on the same rows it
measures the floors: ingest's (a plain COPY of the stored logs into a table shaped like
`logintel.logs` with its indexes, plus their dedupe keys into one shaped like `logintel.log_keys`)
and scoring's (COPY out of the scoring columns + COPY in of the predictions into a table shaped
like `logintel.ml_predictions`), and prints each stage's ratio to its floor.
"""
from __future__ import annotations

# Keep the top of this module light: spawned children re-import it as __mp_main__.
import argparse
import json
import multiprocessing as mp
import os
import platform
import queue
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _measure  # noqa: E402

STAGE_ORDER = ["generate", "ingest", "quality", "inject", "train", "score", "findings"]
PIPELINE_STAGES = {"ingest", "quality", "train", "score", "findings"}  # generate/inject are setup
ONE_M = 1_000_000


# ----------------------------------------------------------------------------- processes

@dataclass
class Handle:
    stage: str
    proc: mp.Process
    inq: object
    outq: object
    ready: dict | None = None


class StageTimeout(Exception):
    def __init__(self, stage: str, seconds: float, peak_rss_mb: float | None):
        super().__init__(f"stage {stage} still running after {seconds:.0f} s")
        self.stage, self.seconds, self.peak_rss_mb = stage, seconds, peak_rss_mb


def _child_hwm_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _get(h: Handle, expect: str, timeout: float | None = None) -> dict:
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        try:
            kind, data = h.outq.get(timeout=1.0)
        except queue.Empty:
            if deadline is not None and time.monotonic() > deadline:
                hwm = _child_hwm_mb(h.proc.pid)
                h.proc.terminate()
                h.proc.join(10)
                if h.proc.is_alive():
                    h.proc.kill()
                    h.proc.join(10)
                raise StageTimeout(h.stage, timeout, hwm) from None
            if not h.proc.is_alive():
                raise RuntimeError(f"stage {h.stage}: worker died (exit code {h.proc.exitcode}; "
                                   f"-9 usually means the OOM killer)") from None
            continue
        if kind == "error":
            raise RuntimeError(f"stage {h.stage} failed: {data['error']}\n{data['traceback']}")
        if kind != expect:
            raise RuntimeError(f"stage {h.stage}: expected {expect}, got {kind}")
        return data


def spawn(stage: str, url: str, params: dict, profile: bool = False) -> Handle:
    ctx = mp.get_context("spawn")
    inq, outq = ctx.Queue(), ctx.Queue()
    proc = ctx.Process(target=_measure.worker, args=(stage, url, params, profile, inq, outq),
                       name=f"bench-{stage}", daemon=True)
    proc.start()
    return Handle(stage, proc, inq, outq)


def wait_ready(handles: list[Handle]) -> None:
    for h in handles:
        h.ready = _get(h, "ready")


def finish(h: Handle, timeout: float | None = None) -> dict:
    out = _get(h, "done", timeout)
    h.proc.join(timeout=60)
    return out


def cancel_queries(url: str) -> None:
    """Cancel what our (killed) stage left running in the throwaway database."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE datname = current_database() AND pid <> pg_backend_pid()")


def run_stage(stage: str, url: str, params: dict, profile: bool = False, timeout: float | None = None) -> dict:
    h = spawn(stage, url, params, profile)
    wait_ready([h])
    h.inq.put("go")
    try:
        return finish(h, timeout)
    except StageTimeout:
        cancel_queries(url)
        raise


def score_parallel(url: str, workers: int, run_key: str) -> dict:
    """Like `workers` LocalExecutor workers: plan, score each id range in its own process, finish."""
    from logintel import scoring

    handles = [spawn("score_partition", url, {}) for _ in range(workers)]
    wait_ready(handles)  # imports are paid before the clock starts, as for the other stages
    t0 = time.perf_counter()
    run = scoring.start_run(url, run_key)
    parts = scoring.plan_partitions(url, run, workers)
    plan_s = time.perf_counter() - t0
    for i, h in enumerate(handles):
        p = parts[i] if i < len(parts) else {"lo": 1, "hi": 0}
        h.inq.put({"lo": p["lo"], "hi": p["hi"], "run": run.as_dict()})
    outs = [finish(h) for h in handles]
    scored = scoring.finish_run(url, run)
    wall = time.perf_counter() - t0
    return {"workers": workers, "wall_s": wall, "plan_s": plan_s, "scored": int(scored),
            "logs_per_s": scored / wall if wall else None,
            "per_worker": [{"n": o["result"]["n"], "wall_s": round(o["wall_s"], 3),
                            "peak_rss_mb": round(o["peak_rss_mb"], 1),
                            "cpu_s": round(o["cpu_user_s"] + o["cpu_sys_s"], 2)} for o in outs]}


# ----------------------------------------------------------------------------- helpers

def sql_scalar(url: str, query: str, params=None):
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(query, params).fetchone()[0]


def sql_exec(url: str, query: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(query)


LOG_FLOOR_COLUMNS = "ts, service, source, source_line, level, message, is_anomaly, attrs, ingest_batch_id, dedupe_key"
PREDICTION_FLOOR_COLUMNS = ("log_id, model_version, template_key, predicted_level, confidence, anomaly_score, "
                            "predicted_anomaly, duration_ms, scoring_run_id")


def _dump(conn, query: str, path: Path) -> None:
    with path.open("wb") as out, conn.cursor().copy(f"COPY ({query}) TO STDOUT") as copy:
        for block in copy:
            out.write(block)


def _load(conn, table: str, columns: str, path: Path) -> None:
    with path.open("rb") as src, conn.cursor().copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        while block := src.read(1 << 20):
            copy.write(block)


def ingest_floor(url: str, workdir: Path) -> dict:
    """The COPY floor of ingest on the same rows: the stored logs (as text) COPYed into a table shaped
    like logintel.logs with its indexes, and their dedupe keys into one shaped like logintel.log_keys
    (where the unique dedupe index lives since the logs are partitioned). Only the COPY in is timed."""
    import psycopg

    rows, keys = workdir / "floor-logs.copy", workdir / "floor-keys.copy"
    with psycopg.connect(url, autocommit=True) as conn:
        _dump(conn, f"SELECT {LOG_FLOOR_COLUMNS} FROM logintel.logs ORDER BY id", rows)
        _dump(conn, "SELECT dedupe_key FROM logintel.log_keys", keys)
        n = conn.execute("SELECT count(*) FROM logintel.logs").fetchone()[0]
        conn.execute("DROP TABLE IF EXISTS public.floor_logs, public.floor_keys")
        conn.execute("CREATE TABLE public.floor_logs (LIKE logintel.logs INCLUDING DEFAULTS INCLUDING INDEXES)")
        conn.execute("CREATE TABLE public.floor_keys (LIKE logintel.log_keys INCLUDING DEFAULTS INCLUDING INDEXES)")
    try:
        with psycopg.connect(url) as conn:
            t0 = time.perf_counter()
            _load(conn, "public.floor_logs", LOG_FLOOR_COLUMNS, rows)
            _load(conn, "public.floor_keys", "dedupe_key", keys)
            conn.commit()
            wall = time.perf_counter() - t0
    finally:
        sql_exec(url, "DROP TABLE IF EXISTS public.floor_logs, public.floor_keys")
        rows.unlink(missing_ok=True)
        keys.unlink(missing_ok=True)
    return {"rows": n, "wall_s": round(wall, 3), "rows_per_s": n / wall}


def scoring_floor(url: str, workdir: Path) -> dict:
    """The read+write floor of scoring on the same rows: COPY out of the scoring columns of every log
    plus COPY in of the run's predictions into a table shaped like logintel.ml_predictions."""
    import psycopg

    preds = workdir / "floor-predictions.copy"
    with psycopg.connect(url, autocommit=True) as conn:
        _dump(conn, f"SELECT {PREDICTION_FLOOR_COLUMNS} FROM logintel.ml_predictions", preds)
        n = conn.execute("SELECT count(*) FROM logintel.ml_predictions").fetchone()[0]
        conn.execute("DROP TABLE IF EXISTS public.floor_predictions")
        conn.execute("CREATE TABLE public.floor_predictions (LIKE logintel.ml_predictions INCLUDING DEFAULTS "
                     "INCLUDING INDEXES)")
    try:
        with psycopg.connect(url) as conn:
            t0 = time.perf_counter()
            with conn.cursor().copy("COPY (SELECT id, ts, service, level, message, is_anomaly FROM logintel.logs) "
                                    "TO STDOUT") as copy:
                for _block in copy:
                    pass
            read = time.perf_counter() - t0
            _load(conn, "public.floor_predictions", PREDICTION_FLOOR_COLUMNS, preds)
            conn.commit()
            wall = time.perf_counter() - t0
    finally:
        sql_exec(url, "DROP TABLE IF EXISTS public.floor_predictions")
        preds.unlink(missing_ok=True)
    return {"rows": n, "read_s": round(read, 3), "write_s": round(wall - read, 3), "wall_s": round(wall, 3),
            "rows_per_s": n / wall}


def server_info(url: str) -> dict:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        out = {"server_version": conn.execute("SHOW server_version").fetchone()[0]}
        for k in ("shared_buffers", "work_mem", "maintenance_work_mem", "max_wal_size", "synchronous_commit",
                  "fsync", "max_parallel_workers_per_gather", "autovacuum"):
            out[k] = conn.execute(f"SHOW {k}").fetchone()[0]
    return out


def machine_info() -> dict:
    mem = None
    try:
        with open("/proc/meminfo") as fh:
            mem = round(int(fh.readline().split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    from importlib.metadata import version

    return {"cpus": os.cpu_count(), "mem_gb": mem, "python": platform.python_version(),
            "platform": platform.platform(),
            "packages": {p: version(p) for p in ("scikit-learn", "pandas", "numpy", "psycopg",
                                                  "great_expectations", "apache-airflow")}}


def code_version() -> dict:
    """The commit, and whether the library has uncommitted changes (others edit it while we measure)."""
    import subprocess

    root = Path(__file__).resolve().parents[1]

    def git(*a):
        try:
            return subprocess.run(["git", *a], cwd=root, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {"commit": git("rev-parse", "--short", "HEAD"),
            "library_changes": git("status", "--short", "--", "include/logintel").splitlines()}


def cpu_sample() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    try:
        with open("/proc/stat") as fh:
            v = [float(x) for x in fh.readline().split()[1:]]
    except OSError:
        return 0.0, 0.0
    idle = v[3] + (v[4] if len(v) > 4 else 0.0)
    return sum(v) - idle, sum(v)


def machine_busy(before, after) -> float | None:
    """Share of all cores busy between two samples (0..1): our stage, PostgreSQL, and anything else."""
    db, dt = after[0] - before[0], after[1] - before[1]
    return db / dt if dt else None


def loadavg() -> float | None:
    try:
        return float(open("/proc/loadavg").read().split()[0])
    except OSError:
        return None


def fmt_n(n: float) -> str:
    return "{:,.0f}".format(n) if n is not None else "-"


def human(n: int) -> str:
    return f"{n // ONE_M}M" if n % ONE_M == 0 else (f"{n // 1000}k" if n % 1000 == 0 else str(n))


# ----------------------------------------------------------------------------- targets

def evaluate_targets(n: int, stages: dict, replaced: dict | None, baseline: dict | None,
                     floors: dict | None = None) -> list[dict]:
    out = []
    scale = "" if n == ONE_M else f"target defined at 1M; measured at {human(n)}"

    def add(name, value, unit, target_text, ok, note=""):
        out.append({"target": name, "value": value, "unit": unit, "target_text": target_text,
                    "status": "n/a" if ok is None else ("PASS" if ok else "FAIL"), "note": note})

    s = stages.get("score")
    if s:
        add("scoring throughput, end to end", s["logs_per_s"], "logs/s", ">= 100,000 logs/s at 1M",
            s["logs_per_s"] >= 100_000, scale)
    i = stages.get("ingest")
    if i:
        add("ingest throughput", i["logs_per_s"], "lines/s", ">= 150,000 lines/s", i["logs_per_s"] >= 150_000,
            "" if n == ONE_M else f"measured at {human(n)}")
    floors = floors or {}
    for stage_name, floor_name, target, text in (("ingest", "ingest", 0.6, ">= 0.6 x its COPY floor"),
                                                  ("score", "score", 0.5, ">= 0.5 x its read+write floor")):
        st, fl = stages.get(stage_name), floors.get(floor_name)
        if st and fl and st.get("logs_per_s"):
            ratio = st["logs_per_s"] / fl["rows_per_s"]
            add(f"{stage_name} vs its floor (same run, same rows)", round(ratio, 2), "x", text, ratio >= target,
                f"floor {fl['wall_s']:.1f} s = {fl['rows_per_s']:,.0f} rows/s")
    for name in (x for x in STAGE_ORDER if x in PIPELINE_STAGES):  # every stage's memory: flat from the baseline's size to this one
        st = stages.get(name)
        if not st or st.get("timeout"):
            continue
        add(f"{name} peak RSS", st["peak_rss_mb"], "MB", "< 1 GB (1024 MB)", st["peak_rss_mb"] < 1024)
        before = (baseline or {}).get("peak_rss_mb", {}).get(name)
        if before:
            ratio = st["peak_rss_mb"] / before
            add(f"{name} peak RSS growth", round((ratio - 1) * 100, 1), "% higher", "<= 10 % higher at 5M than at 1M",
                ratio <= 1.10 if n > baseline["logs"] else None,
                f"{human(n)} vs {human(baseline['logs'])}: {st['peak_rss_mb']:.0f} / {before:.0f} MB")
        else:
            add(f"{name} peak RSS growth", None, "% higher", "<= 10 % higher at 5M than at 1M", None,
                "run 1M with --json, then 5M with --rss-baseline that.json")
    f = stages.get("findings")
    if f:
        add("findings", f["wall_s"], "s", "< 5 s on 1M", f["wall_s"] < 5 if n <= ONE_M else None,
            scale if n <= ONE_M else f"{scale} (no target above 1M)")
    q = stages.get("quality")
    if q:
        add("quality suite on the batch", q["wall_s"], "s", "< 5 s on a 1M batch",
            q["wall_s"] < 5 if n <= ONE_M else None, scale if n <= ONE_M else f"{scale} (no target above 1M)")
    t = stages.get("train")
    if t:
        add("training", t["wall_s"], "s", "< 60 s on 1M", t["wall_s"] < 60 if n <= ONE_M else None,
            scale if n <= ONE_M else f"{scale} (no target above 1M)")
    if s and replaced:
        ratio = s["logs_per_s"] / replaced["logs_per_s"]
        add("speed-up vs replaced method (per log)", round(ratio, 0), "x", ">= 1000x", ratio >= 1000,
            f"replaced method measured on {replaced['measured_rows']:,} rows"
            + (" (extrapolated per-log rate)" if replaced["extrapolated"] else ""))
    return out


# ----------------------------------------------------------------------------- output

def print_report(report: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=170)
    n = report["logs"]
    t = Table(title=f"Logintel pipeline benchmark: {n:,} logs, partitions={report['partitions']}, "
                    f"{report['machine']['cpus']} cores, PostgreSQL {report['server']['server_version'].split()[0]} "
                    f"(autovacuum={report['server']['autovacuum']}), ANALYZE between stages: "
                    f"{'yes' if report['analyze'] else 'no'}"
                    + "".join(f", {k}={v}" for k, v in report["thread_env"].items()))
    for col, just in (("stage", "left"), ("logs", "right"), ("wall s", "right"), ("logs/s", "right"),
                      ("peak RSS MB", "right"), ("base RSS MB", "right"), ("CPU s (proc)", "right"),
                      ("imports s", "right"), ("machine busy %", "right"), ("load1", "right"),
                      ("target", "left"), ("", "left")):
        t.add_column(col, justify=just)
    targets = {x["target"]: x for x in report["targets"]}
    tmap = {"ingest": ["ingest throughput"], "quality": ["quality suite on the batch"], "train": ["training"],
            "score": ["scoring throughput, end to end"], "findings": ["findings"]}
    for name in STAGE_ORDER:
        s = report["stages"].get(name)
        if not s:
            continue
        tt = [targets[k] for k in tmap.get(name, []) if k in targets]
        label = (name + ("" if name in PIPELINE_STAGES else " (setup)") + (" [profiled]" if s.get("profiled") else "")
                 + (" [TIMEOUT]" if s.get("timeout") else ""))
        t.add_row(label, fmt_n(s["n"]), f"{s['wall_s']:.2f}", fmt_n(s["logs_per_s"]), f"{s['peak_rss_mb']:.0f}",
                  f"{s['base_rss_mb']:.0f}", f"{s['cpu_s']:.1f}", f"{s['import_s']:.1f}",
                  _pct(s.get("machine_busy_pct")), _f(s.get("load1")),
                  "; ".join(x["target_text"] for x in tt),
                  " ".join(_status(x["status"]) for x in tt))
    for name, fl in (report.get("floors") or {}).items():
        t.add_row(f"{name} floor (plain COPY)", fmt_n(fl["rows"]), f"{fl['wall_s']:.2f}", fmt_n(fl["rows_per_s"]),
                  "", "", "", "", "", "", "same rows, same run", "")
    r = report.get("replaced")
    if r:
        t.add_row("replaced method", fmt_n(r["measured_rows"]), f"{r['predict_insert_s']:.2f}",
                  fmt_n(r["logs_per_s"]), f"{r['peak_rss_mb']:.0f}", f"{r['base_rss_mb']:.0f}",
                  f"{r['cpu_s']:.1f}", f"{r['import_s']:.1f}", _pct(r.get("machine_busy_pct")), _f(r.get("load1")),
                  "TF-IDF+RF, 1 row/predict, 1 INSERT/row" + (" (extrapolated)" if r["extrapolated"] else ""), "")
    console.print(t)

    tg = Table(title="Targets")
    for col in ("target", "measured", "target", "status", "note"):
        tg.add_column(col)
    for x in report["targets"]:
        v = x["value"]
        vs = "-" if v is None else (f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.2f}")
        tg.add_row(x["target"], f"{vs} {x['unit']}", x["target_text"], _status(x["status"]), x["note"])
    console.print(tg)

    if r:
        console.print(
            f"Replaced method: subset {r['subset']:,} logs (random, by md5(id)); read {r['read_s']:.2f} s, "
            f"TF-IDF+RF fit {r['train_s']:.2f} s (not counted); predict+INSERT one at a time on "
            f"{r['measured_rows']:,} rows: {r['predict_insert_s']:.2f} s = {r['per_log_ms']:.3f} ms/log "
            f"({r['predict_ms_per_log']:.3f} ms predict + {r['insert_ms_per_log']:.3f} ms INSERT) "
            f"= {r['logs_per_s']:,.0f} logs/s"
            + (f" [EXTRAPOLATED: measured on {r['measured_rows']:,} rows, the full {r['subset']:,} would take "
               f"~{r['est_subset_s']:.0f} s]" if r["extrapolated"] else "")
            + f". Ours: {report['stages']['score']['logs_per_s']:,.0f} logs/s -> ratio "
            f"{report['stages']['score']['logs_per_s'] / r['logs_per_s']:,.0f}x.")
    pc = report.get("partitions_compare")
    if pc:
        tp = Table(title="Scoring: 1 process vs 2 partitions in 2 parallel processes (same data, predictions truncated between)")
        for col in ("setup", "wall s", "logs/s", "machine busy %", "load1",
                    "per worker (logs, wall s, peak RSS MB, CPU s)"):
            tp.add_column(col)
        for key in ("p1", "p2"):
            x = pc[key]
            tp.add_row(f"{x['workers']} process(es)", f"{x['wall_s']:.2f}", fmt_n(x["logs_per_s"]),
                       _pct(x.get("machine_busy_pct")), _f(x.get("load1")),
                       "; ".join(f"{w['n']:,}, {w['wall_s']:.2f}, {w['peak_rss_mb']:.0f}, {w['cpu_s']:.1f}"
                                 for w in x["per_worker"]))
        console.print(tp)
        console.print(f"Speed-up with 2 partitions: {pc['speedup']:.2f}x (wall 1 / wall 2)")
    for name, s in report["stages"].items():
        if s.get("profile"):
            console.print(f"\n[bold]cProfile of stage {name}[/bold] (top entries by cumulative time):")
            console.print(s["profile"], markup=False, highlight=False)
    if report.get("notes"):
        console.print("Notes: " + " ".join(report["notes"]))


def _pct(v) -> str:
    return "-" if v is None else f"{v:.0f}"


def _f(v) -> str:
    return "-" if v is None else f"{v:.1f}"


def _status(s: str) -> str:
    return {"PASS": "[green]PASS[/green]", "FAIL": "[red]FAIL[/red]"}.get(s, s)


# ----------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--logs", type=int, required=True, help="number of logs to generate")
    ap.add_argument("--partitions", type=int, default=1, help="partitions of score_all (one process)")
    ap.add_argument("--json", type=Path, help="write the figures as JSON here")
    ap.add_argument("--keep", action="store_true", help="keep the throwaway database and the log file")
    ap.add_argument("--partitions-compare", action="store_true",
                    help="also time scoring with 1 process vs 2 partitions in 2 parallel processes")
    ap.add_argument("--profile", default="", help="comma-separated stages to run under cProfile "
                    "(their figures are then marked [profiled]): " + ",".join(STAGE_ORDER))
    ap.add_argument("--profile-top", type=int, default=15)
    ap.add_argument("--rss-baseline", type=Path, help="JSON of a smaller run (e.g. 1M): report each stage's RSS growth")
    ap.add_argument("--replaced-rows", type=int, default=5000)
    ap.add_argument("--replaced-budget", type=float, default=120.0,
                    help="seconds: if one-at-a-time scoring of the full subset would exceed this, "
                         "stop after the 500-row probe and extrapolate")
    ap.add_argument("--no-replaced", action="store_true")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target FAILs")
    ap.add_argument("--analyze", action="store_true",
                    help="run ANALYZE (not timed in the stages) after ingest, inject and score, as autovacuum "
                         "would eventually; the library does not, and this server runs with autovacuum=off")
    ap.add_argument("--stage-timeout", type=float, default=900.0,
                    help="seconds before a stage is killed and reported as TIMEOUT (default 900)")
    args = ap.parse_args(argv)
    profiled = {s.strip() for s in args.profile.split(",") if s.strip()}
    unknown = profiled - set(STAGE_ORDER)
    if unknown:
        ap.error(f"unknown stage(s) for --profile: {', '.join(sorted(unknown))}")
    if not os.environ.get("LOGINTEL_DATABASE_URL"):
        print("note: LOGINTEL_DATABASE_URL is not set: the embedded PostgreSQL is used", file=sys.stderr)

    from logintel.evaluate import scratch_dirs, throwaway_database

    baseline = None
    if args.rss_baseline:
        b = json.loads(args.rss_baseline.read_text())
        baseline = {"logs": b["logs"],
                    "peak_rss_mb": {name: st["peak_rss_mb"] for name, st in b["stages"].items() if st.get("peak_rss_mb")}}

    def log(msg):
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    report: dict = {"logs": args.logs, "partitions": args.partitions, "machine": machine_info(),
                    "analyze": args.analyze, "code": code_version(),
                    "thread_env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                                  "MKL_NUM_THREADS") if os.environ.get(k)},
                    "stages": {}, "notes": []}
    t_start = time.perf_counter()
    logdir = Path(tempfile.mkdtemp(prefix="logintel-bench-"))
    logfile = logdir / f"logs-{args.logs}.jsonl"
    try:
        with (scratch_dirs(keep=True) if args.keep else scratch_dirs()) as scratch, throwaway_database(args.keep) as url:
            report["scratch_dir"] = str(scratch)
            report["server"] = server_info(url)
            report["database"] = url.rsplit("/", 1)[-1]
            base = {"logs": args.logs, "path": str(logfile), "seed": args.seed, "profile_top": args.profile_top}

            def stage(name, **extra):
                params = {**base, **extra}
                log(f"{name} ...")
                c0 = cpu_sample()
                try:
                    out = run_stage(name, url, params, profile=name in profiled, timeout=args.stage_timeout)
                except StageTimeout as exc:
                    if name in ("generate", "ingest", "train"):
                        raise
                    busy = machine_busy(c0, cpu_sample())
                    rec = {"n": params["logs"], "wall_s": exc.seconds, "logs_per_s": params["logs"] / exc.seconds,
                           "peak_rss_mb": exc.peak_rss_mb or 0.0, "base_rss_mb": 0.0, "cpu_s": 0.0, "import_s": 0.0,
                           "timeout": True, "machine_busy_pct": None if busy is None else round(busy * 100),
                           "load1": loadavg(), "result": {}}
                    report["stages"][name] = rec
                    report["notes"].append(f"STAGE {name.upper()} TIMED OUT after {exc.seconds:.0f} s (killed, its "
                                           f"queries terminated): its wall time is a lower bound, logs/s an upper bound.")
                    log(f"{name}: TIMEOUT after {exc.seconds:.0f} s")
                    return {}
                busy = machine_busy(c0, cpu_sample())
                n = out["result"]["n"]
                rec = {"n": n, "wall_s": round(out["wall_s"], 3), "logs_per_s": n / out["wall_s"] if out["wall_s"] else None,
                       "peak_rss_mb": round(out["peak_rss_mb"], 1), "base_rss_mb": round(out["base_rss_mb"], 1),
                       "cpu_s": round(out["cpu_user_s"] + out["cpu_sys_s"], 2), "import_s": round(out["import_s"], 2),
                       "ru_maxrss_mb_inherited": round(out["ru_maxrss_mb_inherited"], 1),
                       "machine_busy_pct": None if busy is None else round(busy * 100), "load1": loadavg(),
                       "result": out["result"]}
                if out.get("profile"):
                    rec["profiled"] = True
                    rec["profile"] = out["profile"]
                report["stages"][name] = rec
                log(f"{name}: {rec['wall_s']:.2f} s, {fmt_n(rec['logs_per_s'])} logs/s, peak RSS {rec['peak_rss_mb']:.0f} MB")
                return out["result"]

            stage("generate")
            report["log_file_mb"] = round(logfile.stat().st_size / 2**20, 1)
            ing = stage("ingest")
            loaded = int(ing["loaded"])
            base["logs"] = loaded  # the later stages work on what was loaded
            report["loaded"] = loaded
            report["db_size_mb_after_ingest"] = round(sql_scalar(url, "SELECT pg_database_size(current_database())") / 2**20, 1)

            def analyze(after):
                if args.analyze:
                    t0 = time.perf_counter()
                    sql_exec(url, "ANALYZE")
                    report.setdefault("analyze_s", {})[after] = round(time.perf_counter() - t0, 2)
                    log(f"ANALYZE after {after}: {report['analyze_s'][after]} s")

            log("ingest floor ...")
            report["floors"] = {"ingest": ingest_floor(url, logdir)}
            log(f"ingest floor: {report['floors']['ingest']['wall_s']:.2f} s")
            analyze("ingest")
            stage("quality", run_key="bench-quality")
            stage("inject", rate=0.03)
            analyze("inject")
            stage("train")
            stage("score", run_key="bench-score", partitions=args.partitions)
            log("scoring floor ...")
            report["floors"]["score"] = scoring_floor(url, logdir)
            log(f"scoring floor: {report['floors']['score']['wall_s']:.2f} s")
            analyze("score")
            stage("findings", run_key="bench-score")

            if not args.no_replaced:
                log("replaced method ...")
                c0 = cpu_sample()
                out = run_stage("replaced", url, {"rows": args.replaced_rows, "budget": args.replaced_budget})
                busy = machine_busy(c0, cpu_sample())
                r = out["result"]
                report["replaced"] = {**r, "peak_rss_mb": round(out["peak_rss_mb"], 1),
                                      "base_rss_mb": round(out["base_rss_mb"], 1), "import_s": round(out["import_s"], 2),
                                      "cpu_s": round(out["cpu_user_s"] + out["cpu_sys_s"], 2),
                                      "machine_busy_pct": None if busy is None else round(busy * 100), "load1": loadavg()}
                log(f"replaced: {r['logs_per_s']:,.0f} logs/s on {r['measured_rows']} rows")

            if args.partitions_compare:
                pc = {}
                for key, workers in (("p1", 1), ("p2", 2)):
                    sql_exec(url, "TRUNCATE logintel.ml_predictions")
                    log(f"partitions compare: {workers} worker(s) ...")
                    c0 = cpu_sample()
                    pc[key] = score_parallel(url, workers, f"bench-compare-{workers}")
                    busy = machine_busy(c0, cpu_sample())
                    pc[key].update(machine_busy_pct=None if busy is None else round(busy * 100), load1=loadavg())
                    log(f"  {pc[key]['wall_s']:.2f} s, {fmt_n(pc[key]['logs_per_s'])} logs/s")
                pc["speedup"] = pc["p1"]["wall_s"] / pc["p2"]["wall_s"]
                report["partitions_compare"] = pc
            if args.keep:
                report["notes"].append(f"Kept database {report['database']}, log file {logfile} and models/GX "
                                       f"folder {scratch} (LOGINTEL_MODELS_DIR={scratch}/models, LOGINTEL_GX_ROOT={scratch}).")
    finally:
        if not args.keep:
            shutil.rmtree(logdir, ignore_errors=True)
    report["total_s"] = round(time.perf_counter() - t_start, 1)
    report["targets"] = evaluate_targets(args.logs, report["stages"], report.get("replaced"), baseline,
                                         report.get("floors", {}))
    report["notes"] += [
        "Each stage ran in a fresh spawned process; 'peak RSS' is that process's VmHWM (includes its imports,"
        " 'base RSS' is after imports); PostgreSQL server memory is not included.",
        "'wall s' excludes the imports ('imports s'); 'CPU s (proc)' is the Python process's CPU: the rest of"
        " the wall time is spent waiting on PostgreSQL (or for a core).",
        "'machine busy %' is the share of all cores busy during the stage (this stage + PostgreSQL + anything"
        " else running on the machine); 'load1' is the 1-minute load average at its end: with other jobs on"
        " the machine, figures are pessimistic.",
        f"Total benchmark time {report['total_s']} s.",
    ]
    print_report(report)
    js = json.dumps({k: v for k, v in report.items()}, indent=2, default=str)
    if args.json:
        args.json.write_text(js)
    print(js)
    failed = [t["target"] for t in report["targets"] if t["status"] == "FAIL"]
    return 1 if (args.strict and failed) else 0


if __name__ == "__main__":
    sys.exit(main())
