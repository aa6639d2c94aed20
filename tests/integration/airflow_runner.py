"""Run Airflow CLI commands for tests, in the environment `make test` prepared."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def airflow_env(url: str, tmp: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    # LOGINTEL_ASSET_BASE (from `make test`) keeps the assets' identity: the DAGs were
    # registered with the outer database's asset URIs, whatever database a test uses.
    env.update({
        "LOGINTEL_DATABASE_URL": url,
        "AIRFLOW_CONN_LOGINTEL_DB": url,
        "LOGINTEL_MODELS_DIR": str(tmp / "models"),
        "LOGINTEL_GX_ROOT": str(tmp),
        "LOGINTEL_REPORTS_DIR": str(tmp / "reports"),
        "LOGINTEL_LANDING_DIR": str(tmp / "landing"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "PYTHONWARNINGS": "ignore",
    })
    env.update(extra)
    return env


def dags_test(dag_id: str, env: dict[str, str], conf: str | None = None, timeout: int = 600) -> str:
    """`airflow dags test`; returns its output, raises with the tail of it on failure."""
    cmd = ["airflow", "dags", "test", dag_id]
    if conf:
        cmd += ["-c", conf]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, cwd=REPO)
    output = proc.stdout + proc.stderr
    failed = proc.returncode != 0 or "state=failed" in output or "DagRunState.FAILED" in output
    if failed:
        raise AssertionError(f"airflow dags test {dag_id} failed (rc={proc.returncode}):\n{output[-6000:]}")
    return output


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def airflow_cli(env: dict, *args: str, timeout: int = 120) -> str:
    """An `airflow` command's stdout; raises with its output on failure."""
    proc = subprocess.run(["airflow", *args], env=env, capture_output=True, text=True, timeout=timeout, cwd=REPO)
    if proc.returncode != 0:
        raise AssertionError(f"airflow {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc.stdout


def dag_runs(env: dict, dag_id: str) -> list[dict]:
    out = airflow_cli(env, "dags", "list-runs", dag_id, "-o", "json")
    start = out.find("[")
    return json.loads(out[start:]) if start >= 0 else []


def wait_for(predicate, timeout: float, what: str, logs: list[Path], every: float = 3):
    """Poll `predicate` until it returns something true; else fail with the tails of `logs`."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    tails = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in logs if p.exists())
    raise AssertionError(f"timed out waiting for {what}\n{tails}")


def deployment_env(url: str, tmp: Path, metadata_url: str, port: int, **extra: str) -> dict[str, str]:
    """A separate Airflow deployment (own home, metadata DB, API port) on the Logintel database `url`."""
    home = tmp / "airflow_home"
    home.mkdir(exist_ok=True)
    return airflow_env(url, tmp, **{
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url,
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": os.urandom(16).hex(),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        **extra,
    })


class Processes:
    """Long-running Airflow processes, each in its own process group, stopped (all of it) on exit."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.procs: dict[str, subprocess.Popen] = {}
        self.logs: list[Path] = []

    def start(self, name: str, args: list[str], env: dict, cwd: Path = REPO) -> subprocess.Popen:
        log = self.tmp / f"{name}.log"
        self.logs.append(log)
        proc = subprocess.Popen(["airflow", *args], env=env, cwd=cwd, stdout=open(log, "w"),
                                stderr=subprocess.STDOUT, start_new_session=True)
        self.procs[name] = proc
        return proc

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        try:
            os.killpg(self.procs[name].pid, sig)
        except ProcessLookupError:
            pass
        self.procs[name].wait(timeout=30)

    def __enter__(self) -> "Processes":
        return self

    def __exit__(self, *exc) -> None:
        for p in self.procs.values():
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p in self.procs.values():
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
