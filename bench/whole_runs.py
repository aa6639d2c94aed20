"""The figures as a user gets them: whole CLI commands, and one `log_scoring` DAG run under a
real scheduler (issue 11, item 4). Not run by CI.

    source scripts/env.sh
    python bench/whole_runs.py                       # both parts, default sizes
    python bench/whole_runs.py --cli-logs 1000000 --no-dag
    python bench/whole_runs.py --history 100000 --batch 250000 --no-cli

* **CLI**: on a throwaway database, `logintel ingest FILE`, `logintel train` and `logintel score`
  run as a user runs them (a subprocess each: process start, imports, migrations check and the
  model load included), on N fresh synthetic logs.
* **DAG**: a throwaway database holds a history (7 days of logs, ingested, trained on and
  scored, as earlier runs would have left it) and a six-hour batch of new logs ingested after it.
  An Airflow deployment of its own (metadata database, API server, scheduler with the
  LocalExecutor, DAG processor: the processes `tests/integration/test_scheduler.py` starts)
  runs `log_scoring` with 2 partitions; the figure is the wall time of the run that scored the
  batch, from its start to its end as the scheduler recorded them (Airflow's overhead between the
  tasks included), with each task's own duration.

Both parts print the machine's load beside their figures (other jobs make them pessimistic).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))  # the Airflow deployment the scheduler test runs

START = datetime(2026, 1, 5, tzinfo=timezone.utc)  # fixed: the same logs whenever it runs


def _load() -> str:
    with open("/proc/loadavg") as fh:
        return fh.read().split()[0]


def _timed(cmd: list[str], env: dict) -> tuple[float, str]:
    t = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=REPO)
    seconds = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return seconds, proc.stdout


def cli_part(n: int, seed: int, tmp: Path) -> dict:
    from logintel.evaluate import throwaway_database
    from logintel.synthetic import generate, write_logs

    path = tmp / "cli.jsonl"
    write_logs(generate(n, days=7, seed=seed, start=START), path)
    out: dict = {"logs": n}
    with throwaway_database() as url:
        env = {**os.environ, "LOGINTEL_DATABASE_URL": url, "LOGINTEL_PROGRESS": "0",
               "LOGINTEL_MODELS_DIR": str(tmp / "cli_models"), "LOGINTEL_GX_ROOT": str(tmp / "cli_gx")}
        for step, cmd in (("ingest", ["logintel", "ingest", str(path)]), ("train", ["logintel", "train"]),
                          ("score", ["logintel", "score", "--partitions", "1"])):
            load = _load()
            seconds, _ = _timed(cmd, env)
            out[step] = {"seconds": round(seconds, 2), "per_s": round(n / seconds), "load1_before": load,
                         "load1_after": _load()}
            print(f"CLI  logintel {step:<6} {n:,} logs: {seconds:6.1f} s = {n / seconds:9,.0f} logs/s "
                  f"(load {load} -> {_load()})", flush=True)
    return out


def dag_part(history: int, batch: int, seed: int, tmp: Path) -> dict:
    from airflow_runner import Processes, airflow_cli, dag_runs, deployment_env, free_port, wait_for
    from logintel import db, findings, scoring, training
    from logintel.evaluate import drop_database, throwaway_database
    from logintel.ingest import ingest_paths
    from logintel.runtime import airflow_metadata_url
    from logintel.settings import overridden
    from logintel.synthetic import generate, write_logs

    past, new = tmp / "history.jsonl", tmp / "batch.jsonl"
    write_logs(generate(history, days=7, seed=seed, start=START), past)
    write_logs(generate(batch, days=0.25, seed=seed + 1, start=START + timedelta(days=7)), new)
    with throwaway_database() as url, overridden(models_dir=tmp / "models", gx_root=tmp,
                                                 reports_dir=tmp / "reports"):
        ingest_paths([past], url=url)
        training.train_and_register(url, seed=seed)
        scoring.score_all(url, run_key="history")
        findings.record_findings(url, run_key="history")
        ingest_paths([new], url=url)
        metadata = airflow_metadata_url(url)
        db.ensure_database("postgresql://" + metadata.split("://", 1)[1])
        try:
            port = free_port()
            env = deployment_env(url, tmp, metadata, port, **{
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor", "LOGINTEL_PROGRESS": "0", "LOGINTEL_PARTITIONS": "2",
                "LOGINTEL_ASSET_BASE": "postgres://whole-runs:5432/logintel/logintel"})
            airflow_cli(env, "db", "migrate", timeout=600)
            with Processes(tmp) as deployment:
                for name, args in (("api-server", ["api-server", "--port", str(port)]), ("scheduler", ["scheduler"]),
                                   ("dag-processor", ["dag-processor"])):
                    deployment.start(name, args, env)
                wait_for(lambda: "log_scoring" in airflow_cli(env, "dags", "list"), 300, "the DAG processor",
                         deployment.logs)
                # unpausing also starts the cron schedule's own run, which may go first (max_active_runs=1):
                # the run measured is the one that scored the batch (scoring_runs.run_key = the DAG run id)
                load = _load()
                airflow_cli(env, "dags", "unpause", "log_scoring")
                airflow_cli(env, "dags", "trigger", "log_scoring", "-c", json.dumps({"partitions": 2}))

                def ended():
                    runs = dag_runs(env, "log_scoring")
                    return runs if runs and all(r.get("state") in ("success", "failed") for r in runs) else None

                runs = wait_for(ended, 3600, "the log_scoring runs", deployment.logs, every=1)
                with db.connect(url) as conn:
                    by_key = dict(conn.execute(
                        "SELECT r.run_key, count(p.log_id) FROM logintel.scoring_runs r LEFT JOIN "
                        "logintel.ml_predictions p ON p.scoring_run_id = r.id GROUP BY r.run_key").fetchall())
                run = max(runs, key=lambda r: by_key.get(r["run_id"], 0))
                scored = by_key.get(run["run_id"], 0)
                states = json.loads(airflow_cli(env, "tasks", "states-for-dag-run", "log_scoring", run["run_id"],
                                                "-o", "json"))
        finally:
            drop_database("postgresql://" + metadata.split("://", 1)[1])
    tasks = []
    for s in states:
        start, end = s.get("start_date"), s.get("end_date")
        if start and end:
            dur = (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
            mapped = str(s.get("map_index", "")) not in ("", "-1", "None")
            tasks.append({"task": s["task_id"] + (f"[{s['map_index']}]" if mapped else ""),
                          "state": s.get("state"), "seconds": round(dur, 1)})
    try:  # the run's own start and end, as the scheduler recorded them
        own = (datetime.fromisoformat(run["end_date"]) - datetime.fromisoformat(run["start_date"])).total_seconds()
    except (KeyError, TypeError, ValueError):
        own = float("nan")
    print(f"DAG  log_scoring on a six-hour batch of {batch:,} new logs ({scored:,} scored by it), after a history "
          f"of {history:,}: {run['state']} in {own:.1f} s from its start to its end (load {load} -> {_load()})",
          flush=True)
    for task in tasks:
        print(f"       {task['task']:<22} {task['state']:<8} {task['seconds']:7.1f} s")
    return {"history": history, "batch": batch, "scored": scored, "state": run["state"],
            "run_s": round(own, 1), "tasks": tasks, "load1_before": load}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cli-logs", type=int, default=1_000_000)
    ap.add_argument("--history", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=250_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--no-cli", dest="cli", action="store_false")
    ap.add_argument("--no-dag", dest="dag", action="store_false")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="logintel-whole-") as tmp:
        if args.cli:
            results["cli"] = cli_part(args.cli_logs, args.seed, Path(tmp))
        if args.dag:
            results["dag"] = dag_part(args.history, args.batch, args.seed, Path(tmp))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
