"""Shared fixtures: a real PostgreSQL database per test (module), created fresh and dropped after.

The server is the one `make test` prepared (LOGINTEL_DATABASE_URL: embedded by default),
or LOGINTEL_TEST_SERVER_URL, or the local development server.
"""
from __future__ import annotations

import email
import json
import os
import socket
import threading
import uuid
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
import pytest

from logintel import db
from logintel.evaluate import drop_database

REPO = Path(__file__).resolve().parents[1]
LOGHUB = REPO.parent / "shared" / "data" / "loghub"


def _server_url() -> str:
    base = (os.environ.get("LOGINTEL_TEST_SERVER_URL") or os.environ.get("LOGINTEL_DATABASE_URL")
            or "postgresql://postgres@127.0.0.1:5432/postgres")
    return db.with_database(base, "postgres")


@pytest.fixture(scope="session")
def server_url() -> str:
    url = _server_url()
    try:
        psycopg.connect(url, connect_timeout=5).close()
    except psycopg.OperationalError as exc:  # a clear failure, not a skip: the suite needs Postgres
        pytest.fail(f"no PostgreSQL at {url}: run the tests with `make test`, which starts one ({exc})")
    return url


def _new_database(server: str) -> str:
    name = f"logintel_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))
    return db.with_database(server, name)


@pytest.fixture
def fresh_db(server_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A new, migrated database; models, GX and reports go to tmp_path."""
    url = _new_database(server_url)
    db.upgrade(url)
    monkeypatch.setenv("LOGINTEL_DATABASE_URL", url)
    monkeypatch.setenv("LOGINTEL_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("LOGINTEL_GX_ROOT", str(tmp_path))
    monkeypatch.setenv("LOGINTEL_REPORTS_DIR", str(tmp_path / "reports"))
    yield url
    drop_database(url)


@pytest.fixture(scope="module")
def module_db(server_url: str, tmp_path_factory: pytest.TempPathFactory):
    """Like fresh_db, shared by the tests of one module (for expensive set-ups)."""
    tmp = tmp_path_factory.mktemp("module_db")
    url = _new_database(server_url)
    db.upgrade(url)
    saved = {k: os.environ.get(k) for k in ("LOGINTEL_DATABASE_URL", "LOGINTEL_MODELS_DIR", "LOGINTEL_GX_ROOT",
                                            "LOGINTEL_REPORTS_DIR")}
    os.environ.update({"LOGINTEL_DATABASE_URL": url, "LOGINTEL_MODELS_DIR": str(tmp / "models"),
                       "LOGINTEL_GX_ROOT": str(tmp), "LOGINTEL_REPORTS_DIR": str(tmp / "reports")})
    yield url
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    drop_database(url)


@pytest.fixture
def loghub_dir() -> Path:
    if not LOGHUB.is_dir():
        pytest.skip("../shared/data/loghub is not here (a fresh clone has no shared data)")
    return LOGHUB


@pytest.fixture
def metadata_db(server_url, fresh_db):
    """An empty Airflow metadata database beside fresh_db (SQLAlchemy URL), dropped after."""
    url = db.with_database(server_url, db.database_name(fresh_db) + "_airflow")
    db.ensure_database(url)
    yield "postgresql+psycopg2://" + url.split("://", 1)[1]
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db.database_name(url)}" WITH (FORCE)')


# --- real sinks for alert tests: an SMTP server and a webhook receiver on 127.0.0.1 ---

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd) on 127.0.0.1: yields (controller, received messages)."""
    from aiosmtpd.controller import Controller

    class Collect:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
            return "250 OK"

    handler = Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller, handler.messages
    controller.stop()


@pytest.fixture
def webhook_receiver():
    """A webhook receiver: records JSON bodies; answers `state['status']`."""
    state = {"status": 200, "bodies": []}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state["bodies"].append({"json": json.loads(body), "auth": self.headers.get("Authorization")})
            self.send_response(state["status"])
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}/hooks/logintel"
    yield state
    server.shutdown()
