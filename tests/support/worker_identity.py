"""AIRFLOW__CORE__HOSTNAME_CALLABLE for tests that run two Celery workers on one machine: a task
instance's `hostname` is the machine's for both, so each worker names itself (LOGINTEL_TEST_WORKER)."""
from __future__ import annotations

import os
import socket


def hostname() -> str:
    return os.environ.get("LOGINTEL_TEST_WORKER") or socket.getfqdn()
