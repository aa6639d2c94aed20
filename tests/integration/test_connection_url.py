"""Airflow connections turned into libpq URLs really connect: extras libpq understands reach
it, the ones it would refuse (`cursor`) do not, passwords survive quoting.

The server is the test server (conftest `server_url`: no SSL, trust authentication).
"""
from __future__ import annotations

import json
import logging
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from logintel import connection_url as connection_url_mod
from logintel import settings as settings_mod
from logintel.settings import VARIABLES, connection_url


@pytest.fixture
def server(server_url: str, monkeypatch: pytest.MonkeyPatch) -> dict:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    connection_url_mod._warned_extras.clear()
    parts = urlsplit(server_url)
    return {"host": parts.hostname, "port": parts.port or 5432, "login": parts.username or "postgres",
            "schema": parts.path.lstrip("/") or "postgres"}


def _uri(server: dict, password: str = "", query: str = "") -> str:
    from urllib.parse import quote

    auth = server["login"] + (":" + quote(password, safe="") if password else "")
    return f"postgres://{auth}@{server['host']}:{server['port']}/{server['schema']}{query}"


def test_cursor_extra_is_dropped_and_sslmode_disable_connects(server, caplog):
    caplog.set_level(logging.WARNING, logger="logintel.settings")
    url = connection_url(_uri(server, query="?cursor=dictcursor&sslmode=disable"))
    assert "cursor" not in url and conninfo_to_dict(url)["sslmode"] == "disable"
    assert [r.getMessage() for r in caplog.records if "cursor" in r.getMessage()]
    with psycopg.connect(url, connect_timeout=5) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
        assert conn.pgconn.ssl_in_use is False


def test_airflows_own_uri_with_the_cursor_extra_is_refused_by_libpq(server):
    """Why the conversion exists: Connection.get_uri() keeps every extra in the query."""
    with pytest.raises(psycopg.ProgrammingError, match="cursor"):
        psycopg.connect(_uri(server, query="?cursor=dictcursor&sslmode=disable").replace(
            "postgres://", "postgresql://"), connect_timeout=5)


def test_sslmode_require_reaches_libpq(server):
    url = connection_url(_uri(server, query="?cursor=dictcursor&sslmode=require"))
    with pytest.raises(psycopg.OperationalError, match="(?i)ssl"):
        psycopg.connect(url, connect_timeout=5)


def test_options_and_application_name_reach_the_server(server):
    extra = {"application_name": "logintel test", "options": "-c statement_timeout=4321",
             "cursor": "realdictcursor", "sqlalchemy_scheme": "postgresql+psycopg", "connect_timeout": 5}
    url = connection_url(json.dumps({"conn_type": "postgres", **server, "extra": extra}))
    with psycopg.connect(url) as conn:
        assert conn.execute("SHOW application_name").fetchone() == ("logintel test",)
        assert conn.execute("SHOW statement_timeout").fetchone() == ("4321ms",)
    # a Logintel connection keeps the connection's own options and adds its session settings
    from logintel import db

    with db.connect(url) as conn:
        assert conn.execute("SHOW statement_timeout").fetchone() == ("4321ms",)
        assert conn.execute("SHOW application_name").fetchone() == ("logintel test",)
        assert conn.execute("SHOW jit").fetchone() == ("off",)


def test_the_json_form_connects_and_a_special_password_round_trips(server):
    password = "p@ss:w/rd"
    url = connection_url(json.dumps({"conn_type": "postgres", **server, "password": password,
                                     "extra": {"sslmode": "disable", "cursor": "x"}}))
    assert conninfo_to_dict(url)["password"] == password  # libpq's own parse of the URL
    assert conninfo_to_dict(connection_url(_uri(server, password)))["password"] == password
    with psycopg.connect(url, connect_timeout=5) as conn:  # trust: the password is parsed, not checked
        assert conn.info.password == password
        assert conn.execute("SELECT current_database()").fetchone() == (server["schema"],)


def test_task_database_url_from_airflow_conn_env_only(server, monkeypatch):
    """Only AIRFLOW_CONN_LOGINTEL_DB (with a cursor extra): the Task SDK finds the connection,
    the helper returns the cleaned URL, and it connects."""
    from logintel.airflow import tasks

    monkeypatch.setenv("AIRFLOW_CONN_LOGINTEL_DB", _uri(server, query="?cursor=dictcursor&sslmode=disable"))
    url = tasks.database_url()
    assert url == (f"postgresql://{server['login']}@{server['host']}:{server['port']}/{server['schema']}"
                   "?sslmode=disable")
    with psycopg.connect(url, connect_timeout=5) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_the_plugin_without_a_database_answers_503_and_starts_no_embedded_server(server, monkeypatch):
    import importlib.util
    from pathlib import Path

    from fastapi.testclient import TestClient

    from logintel import db

    plugin_file = Path(__file__).resolve().parents[2] / "plugins" / "logintel_plugin.py"
    spec = importlib.util.spec_from_file_location("logintel_plugin", plugin_file)
    plugin = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(plugin)
    monkeypatch.setenv("LOGINTEL_PLUGIN_AUTH", "off")
    monkeypatch.setattr(db, "server_url", lambda *a, **k: pytest.fail("must not start the embedded server"))
    with TestClient(plugin.create_app()) as client:
        r = client.get("/api/findings")
    assert r.status_code == 503 and "not configured" in r.json()["detail"]
