"""The `logintel` command as a newcomer meets it: migrations applied by the command itself, and
expected errors as one line on stderr with a documented exit code (no traceback, no password)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from logintel.evaluate import drop_database

LOGINTEL = str(Path(sys.executable).with_name("logintel"))


def _run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full = {**os.environ, **(env or {})}
    full.pop("LOGINTEL_DEBUG", None)
    return subprocess.run([LOGINTEL, *args], capture_output=True, text=True, env=full, timeout=300)


@pytest.fixture
def empty_db(server_url, tmp_path):
    """A database with no schema at all (as a user's fresh, empty database)."""
    import uuid

    import psycopg

    from logintel import db

    name = f"logintel_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))
    url = db.with_database(server_url, name)
    yield {"LOGINTEL_DATABASE_URL": url, "LOGINTEL_MODELS_DIR": str(tmp_path / "models"),
           "LOGINTEL_GX_ROOT": str(tmp_path), "LOGINTEL_REPORTS_DIR": str(tmp_path / "reports")}
    drop_database(url)


def _one_error_line(result: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in result.stderr and "╭" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_a_command_on_an_empty_database_applies_the_migrations(empty_db, tmp_path):
    from logintel.synthetic import generate, write_logs

    path = tmp_path / "a.jsonl"
    write_logs(generate(300, days=1, seed=1), path)
    result = _run("ingest", str(path), "--json", env=empty_db)
    assert result.returncode == 0, result.stderr
    assert '"loaded": 300' in result.stdout


def test_no_champion_is_one_line_and_exit_code_4(empty_db):
    result = _run("score", env=empty_db)
    assert result.returncode == 4
    assert "no champion model" in _one_error_line(result)


def test_a_refused_connection_is_one_line_without_the_password():
    result = _run("findings", env={"LOGINTEL_DATABASE_URL": "postgresql://someone:s3cretpw@127.0.0.1:1/nothing"})  # planted-secret
    assert result.returncode == 3
    line = _one_error_line(result)
    assert "127.0.0.1" in line and "s3cretpw" not in result.stderr + result.stdout


def test_bad_settings_and_bad_options(empty_db):
    bad = _run("score", env={**empty_db, "LOGINTEL_CHUNK_SIZE": "abc"})
    assert bad.returncode == 6 and "LOGINTEL_CHUNK_SIZE must be an integer" in _one_error_line(bad)
    missing = _run("ingest", "/no/such/file.jsonl", env=empty_db)
    assert missing.returncode == 2 and "no such file" in missing.stderr and "Traceback" not in missing.stderr
    option = _run("score", "--partitions", "many", env=empty_db)
    assert option.returncode == 2 and "--partitions" in option.stderr


def test_debug_shows_the_traceback(empty_db):
    result = _run("--debug", "score", env=empty_db)
    assert result.returncode == 1 and "NoChampionError" in result.stderr
    env_debug = subprocess.run([LOGINTEL, "score"], capture_output=True, text=True, timeout=300,
                               env={**os.environ, **empty_db, "LOGINTEL_DEBUG": "1"})
    assert env_debug.returncode == 1 and "NoChampionError" in env_debug.stderr


def test_doctor_reports_each_check_and_what_to_do(empty_db, tmp_path):
    import json

    env = {**empty_db, "LOGINTEL_LANDING_DIR": str(tmp_path / "landing"), "AIRFLOW_CONN_LOGINTEL_DB": ""}
    result = _run("doctor", "--json", env=env)
    assert result.returncode == 3  # something to fix
    checks = {c["name"]: c for c in json.loads(result.stdout)}
    assert list(checks) == ["database", "schema", "champion", "GX project", "Airflow connection",
                            "landing folder", "free disk"]
    assert checks["database"]["ok"] and "PostgreSQL" in checks["database"]["detail"]
    assert not checks["schema"]["ok"] and "db upgrade" in checks["schema"]["fix"]  # doctor itself migrates nothing
    assert not checks["champion"]["ok"] and "logintel train" in checks["champion"]["fix"]
    assert not checks["landing folder"]["ok"] and not checks["Airflow connection"]["ok"]
    (tmp_path / "landing").mkdir()
    assert _run("db", "upgrade", env=env).returncode == 0
    after = {c["name"]: c for c in json.loads(_run("doctor", "--json", env=env).stdout)}
    assert after["schema"]["ok"] and after["landing folder"]["ok"]
    down = _run("doctor", env={"LOGINTEL_DATABASE_URL": "postgresql://someone:s3cretpw@127.0.0.1:1/x"})  # planted-secret
    assert down.returncode == 3 and "FAIL database" in down.stdout and "s3cretpw" not in down.stdout
