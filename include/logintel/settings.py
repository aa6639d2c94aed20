"""Settings for Logintel, read from the environment (and the Airflow connection `logintel_db`).

Nothing here imports heavy libraries: DAG files import this module at parse time.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

# The repo root when installed editable (include/logintel/config.py -> ../..).
_DEFAULT_HOME = Path(__file__).resolve().parents[2]


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:  # a clear error beats a silent default
        raise ValueError(f"{name} must be an integer, got {raw!r}") from exc


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a number, got {raw!r}") from exc


def mask_url(url: str) -> str:
    """Hide the password of a database URL so it can be logged or shown."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def _airflow_connection_url() -> str | None:
    """The `logintel_db` Airflow connection given by environment, if any.

    Airflow sets AIRFLOW_CONN_* for connections defined by environment; reading the env
    keeps this import-free. Connections stored in the metadata DB are read by the DAG
    helper (logintel.airflow_support) through the Task SDK instead.
    """
    raw = os.environ.get("AIRFLOW_CONN_LOGINTEL_DB")
    if not raw:
        return None
    if raw.startswith("postgres://"):
        raw = "postgresql://" + raw[len("postgres://"):]
    return raw


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str | None  # None => embedded PostgreSQL
    embedded_port: int
    chunk_size: int
    partitions: int
    confidence: float
    future_tolerance_minutes: int
    train_max_rows: int = 1_000_000

    @property
    def pgdata(self) -> Path:
        return self.home / ".pgdata"

    @property
    def run_dir(self) -> Path:
        return self.home / ".run"

    @property
    def models_dir(self) -> Path:
        return Path(os.environ.get("LOGINTEL_MODELS_DIR", self.home / "models"))

    @property
    def gx_root(self) -> Path:
        """GX project root: the GX context lives in <gx_root>/gx."""
        return Path(os.environ.get("LOGINTEL_GX_ROOT", self.home))

    @property
    def reports_dir(self) -> Path:
        return Path(os.environ.get("LOGINTEL_REPORTS_DIR", self.home / "reports"))

    @property
    def landing_dir(self) -> Path:
        return Path(os.environ.get("LOGINTEL_LANDING_DIR", self.home / "landing"))

    @property
    def uses_embedded(self) -> bool:
        return self.database_url is None


def get_settings() -> Settings:
    home = Path(os.environ.get("LOGINTEL_HOME", _DEFAULT_HOME)).resolve()
    url = os.environ.get("LOGINTEL_DATABASE_URL") or _airflow_connection_url()
    return Settings(
        home=home,
        database_url=url,
        embedded_port=_env_int("LOGINTEL_EMBEDDED_PORT", 54329),
        chunk_size=_env_int("LOGINTEL_CHUNK_SIZE", 200_000),
        partitions=_env_int("LOGINTEL_PARTITIONS", 2),
        confidence=_env_float("LOGINTEL_CONFIDENCE", 0.9),
        future_tolerance_minutes=_env_int("LOGINTEL_FUTURE_TOLERANCE_MINUTES", 10),
        train_max_rows=_env_int("LOGINTEL_TRAIN_MAX_ROWS", 1_000_000),
    )


def cpu_threads():
    """Limit BLAS/OpenMP threads (LOGINTEL_THREADS, default 1) around model work.

    Scoring partitions already run in parallel and PostgreSQL shares the cores:
    OpenMP threads on top of that oversubscribe the CPU (4x slower under load here).
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=_env_int("LOGINTEL_THREADS", 1))
