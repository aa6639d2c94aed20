"""Settings every Logintel DAG shares (tiny: imported at parse time)."""
from __future__ import annotations

from datetime import datetime, timedelta

START = datetime(2026, 1, 1)
DEFAULT_ARGS = {"owner": "logintel", "retries": 2, "retry_delay": timedelta(seconds=20)}
TAGS = ["logintel"]
