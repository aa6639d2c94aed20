"""Run Airflow CLI commands for tests, in the environment `make test` prepared."""
from __future__ import annotations

import os
import subprocess
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
