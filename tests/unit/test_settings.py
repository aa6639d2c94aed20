"""Settings: one parser per type, errors that name the variable, a cache keyed on the
environment, overrides that never touch os.environ, and Airflow connections as libpq URLs."""
from __future__ import annotations

import json
import logging
import os
import re
import threading
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from logintel import connection_url as connection_url_mod
from logintel import settings as settings_mod
from logintel.settings import (VARIABLES, SettingsError, connection_url, get_settings, normalise_scheme,
                               overridden)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch):
    """Every test starts from an environment without Logintel variables."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    connection_url_mod._warned_extras.clear()
    yield
    connection_url_mod._warned_extras.clear()


INTEGERS = {  # variable: (field, a good value)
    "LOGINTEL_EMBEDDED_PORT": ("embedded_port", 55001),
    "LOGINTEL_CHUNK_SIZE": ("chunk_size", 50_000),
    "LOGINTEL_PARTITIONS": ("partitions", 8),
    "LOGINTEL_INGEST_CHUNK_ROWS": ("ingest_chunk_rows", 2000),
    "LOGINTEL_FUTURE_TOLERANCE_MINUTES": ("future_tolerance_minutes", 0),
    "LOGINTEL_TRAIN_MAX_ROWS": ("train_max_rows", 5000),
    "LOGINTEL_THREADS": ("threads", 3),
    "LOGINTEL_GX_MAX_IDS": ("gx_max_ids", 77),
    "LOGINTEL_MAX_RECORD_BYTES": ("max_record_bytes", 4096),
}

OUT_OF_RANGE = {  # variable: values that parse but make no sense
    "LOGINTEL_EMBEDDED_PORT": ["0", "70000"],
    "LOGINTEL_CHUNK_SIZE": ["999", "0", "5000001"],
    "LOGINTEL_PARTITIONS": ["0", "-1", "65"],
    "LOGINTEL_INGEST_CHUNK_ROWS": ["999", "0", "1000001"],
    "LOGINTEL_CONFIDENCE": ["1.5", "0.2", "-0.1"],
    "LOGINTEL_ANOMALY_CONFIDENCE": ["1.5", "0.2", "-0.1"],
    "LOGINTEL_FUTURE_TOLERANCE_MINUTES": ["-1"],
    "LOGINTEL_TRAIN_MAX_ROWS": ["0"],
    "LOGINTEL_THREADS": ["0"],
    "LOGINTEL_GX_MAX_IDS": ["0"],
    "LOGINTEL_MAX_RECORD_BYTES": ["0", "-5"],
}


@pytest.mark.parametrize("name", sorted(INTEGERS))
@pytest.mark.parametrize("bad", ["abc", "1.5", "10k"])
def test_a_bad_integer_is_an_error_naming_the_variable(monkeypatch, name, bad):
    monkeypatch.setenv(name, bad)
    with pytest.raises(SettingsError, match=re.escape(f"{name} must be an integer, got {bad!r}")):
        get_settings()


@pytest.mark.parametrize("name", sorted(INTEGERS))
def test_a_good_integer_is_used(monkeypatch, name):
    field, value = INTEGERS[name]
    monkeypatch.setenv(name, f" {value} ")
    assert getattr(get_settings(), field) == value


@pytest.mark.parametrize("name,bad", [(n, v) for n, values in sorted(OUT_OF_RANGE.items()) for v in values])
def test_a_value_out_of_range_is_an_error_naming_the_variable(monkeypatch, name, bad):
    monkeypatch.setenv(name, bad)
    with pytest.raises(SettingsError, match=rf"^{name} must be (at least|at most|between) .*, got "):
        get_settings()


@pytest.mark.parametrize("bad,why", [("abc", "a number"), ("nan", "a finite number"), ("inf", "a finite number")])
def test_confidence_must_be_a_finite_number(monkeypatch, bad, why):
    monkeypatch.setenv("LOGINTEL_CONFIDENCE", bad)
    with pytest.raises(SettingsError, match=re.escape(f"LOGINTEL_CONFIDENCE must be {why}, got {bad!r}")):
        get_settings()


def test_confidence_good_value_is_used(monkeypatch):
    monkeypatch.setenv("LOGINTEL_CONFIDENCE", "0.75")
    monkeypatch.setenv("LOGINTEL_ANOMALY_CONFIDENCE", "0.6")
    assert (get_settings().confidence, get_settings().anomaly_confidence) == (0.75, 0.6)
    monkeypatch.delenv("LOGINTEL_ANOMALY_CONFIDENCE")
    assert get_settings().anomaly_confidence == 0.5  # calibrated: more likely right than not


@pytest.mark.parametrize("raw,expected", [("on", True), ("TRUE", True), ("1", True), ("yes", True),
                                          ("off", False), ("False", False), ("0", False), (" no ", False)])
def test_plugin_auth_accepts_the_boolean_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("LOGINTEL_PLUGIN_AUTH", raw)
    assert get_settings().plugin_auth is expected


@pytest.mark.parametrize("bad", ["maybe", "disabled", "2", "offf"])
def test_plugin_auth_rejects_anything_else(monkeypatch, bad):
    monkeypatch.setenv("LOGINTEL_PLUGIN_AUTH", bad)
    with pytest.raises(SettingsError, match=re.escape(f"LOGINTEL_PLUGIN_AUTH must be one of on/off, true/false, "
                                                      f"yes/no, 1/0, got {bad!r}")):
        get_settings()


def test_defaults():
    s = get_settings()
    assert (s.chunk_size, s.partitions, s.confidence, s.threads, s.gx_max_ids, s.max_record_bytes) == (
        200_000, 2, 0.9, 1, 10_000, 1 << 20)
    assert s.plugin_auth is True and s.asset_base is None and s.database_url is None and s.uses_embedded
    assert s.embedded_port == 54329 and not s.embedded_port_pinned
    assert s.models_dir == s.home / "models" and s.gx_root == s.home and s.landing_dir == s.home / "landing"


@pytest.mark.parametrize("name,field", [("LOGINTEL_MODELS_DIR", "models_dir"), ("LOGINTEL_GX_ROOT", "gx_root"),
                                        ("LOGINTEL_REPORTS_DIR", "reports_dir"), ("LOGINTEL_LANDING_DIR", "landing_dir")])
def test_folders(monkeypatch, tmp_path, name, field):
    monkeypatch.setenv(name, str(tmp_path / "x"))
    assert getattr(get_settings(), field) == tmp_path / "x"
    (tmp_path / "file").write_text("")
    monkeypatch.setenv(name, str(tmp_path / "file"))
    with pytest.raises(SettingsError, match=f"{name} must be a folder, got"):
        get_settings()


def test_home_moves_the_default_folders(monkeypatch, tmp_path):
    monkeypatch.setenv("LOGINTEL_HOME", str(tmp_path))
    s = get_settings()
    assert s.home == tmp_path.resolve() and s.models_dir == tmp_path.resolve() / "models"
    assert s.pgdata == tmp_path.resolve() / ".pgdata"


def test_embedded_port_pinned_when_set(monkeypatch):
    monkeypatch.setenv("LOGINTEL_EMBEDDED_PORT", "55002")
    assert get_settings().embedded_port_pinned


def test_asset_base(monkeypatch):
    monkeypatch.setenv("LOGINTEL_ASSET_BASE", "postgres://db:5432/logintel/logintel/")
    assert get_settings().asset_base == "postgres://db:5432/logintel/logintel"
    for bad in ("postgresql://db:5432/logintel/logintel", "postgres://db/logintel/logintel", "postgres://db:5432/x",
                "nonsense"):
        monkeypatch.setenv("LOGINTEL_ASSET_BASE", bad)
        with pytest.raises(SettingsError, match="LOGINTEL_ASSET_BASE must look like postgres://host:5432/"):
            get_settings()


def test_database_url_is_normalised_and_checked_without_leaking_the_password(monkeypatch):
    monkeypatch.setenv("LOGINTEL_DATABASE_URL", "postgres://u:pw@h:5432/db")
    s = get_settings()
    assert s.database_url == "postgresql://u:pw@h:5432/db" and s.database_url_source == "LOGINTEL_DATABASE_URL"
    assert "pw" not in repr(s)
    monkeypatch.setenv("LOGINTEL_DATABASE_URL", "mysql://u:topsecret@h/db")  # planted-secret
    with pytest.raises(SettingsError, match="LOGINTEL_DATABASE_URL must be a postgresql:// URL") as err:
        get_settings()
    assert "topsecret" not in str(err.value)


def test_normalise_scheme():
    assert normalise_scheme("postgres://h/db") == "postgresql://h/db"
    assert normalise_scheme("postgresql://h/db") == "postgresql://h/db"


# --- cache ---------------------------------------------------------------------------------

def test_the_cache_returns_the_same_object_until_the_environment_changes(monkeypatch):
    first = get_settings()
    assert get_settings() is first
    monkeypatch.setenv("LOGINTEL_CHUNK_SIZE", "3000")
    second = get_settings()
    assert second is not first and second.chunk_size == 3000
    assert get_settings() is second
    os.environ["LOGINTEL_CHUNK_SIZE"] = "4000"  # a direct write is seen too (tests' fixtures do this)
    assert get_settings().chunk_size == 4000
    monkeypatch.delenv("LOGINTEL_CHUNK_SIZE")
    assert get_settings() == first


def test_settings_are_frozen():
    with pytest.raises(AttributeError):
        get_settings().chunk_size = 5  # type: ignore[misc]


def test_a_bad_value_is_not_cached(monkeypatch):
    monkeypatch.setenv("LOGINTEL_THREADS", "x")
    for _ in range(2):
        with pytest.raises(SettingsError):
            get_settings()
    monkeypatch.setenv("LOGINTEL_THREADS", "2")
    assert get_settings().threads == 2


# --- overrides -----------------------------------------------------------------------------

def test_overridden_changes_settings_without_touching_os_environ(tmp_path):
    before = dict(os.environ)
    base = get_settings()
    with overridden(models_dir=tmp_path / "m", gx_root=str(tmp_path)) as inside:
        assert get_settings() is inside
        assert inside.models_dir == tmp_path / "m" and inside.gx_root == tmp_path
        assert inside.chunk_size == base.chunk_size
        assert dict(os.environ) == before
        with overridden(chunk_size=5000):
            assert get_settings().chunk_size == 5000 and get_settings().models_dir == tmp_path / "m"
        assert get_settings().chunk_size == base.chunk_size
    assert get_settings() is base
    assert dict(os.environ) == before


def test_overridden_values_are_validated_like_the_environments():
    with pytest.raises(SettingsError, match="LOGINTEL_CHUNK_SIZE must be between 1000 and 5000000, got 5"):
        with overridden(chunk_size=5):
            pass
    with pytest.raises(TypeError, match="no field nope"):
        with overridden(nope=1):
            pass
    assert get_settings().chunk_size == 200_000


def test_overridden_still_follows_the_environment_for_other_fields(monkeypatch, tmp_path):
    with overridden(models_dir=tmp_path):
        monkeypatch.setenv("LOGINTEL_PARTITIONS", "7")
        assert get_settings().partitions == 7 and get_settings().models_dir == tmp_path


def test_overrides_belong_to_their_context(tmp_path):
    seen = {}
    with overridden(models_dir=tmp_path):
        thread = threading.Thread(target=lambda: seen.update(dir=get_settings().models_dir))
        thread.start()
        thread.join()
    assert seen["dir"] == get_settings().models_dir != tmp_path


def test_scratch_dirs_uses_an_override_not_the_environment():
    from logintel.evaluate import scratch_dirs

    before = dict(os.environ)
    with scratch_dirs() as tmp:
        assert get_settings().models_dir == tmp / "models" and get_settings().gx_root == tmp
        assert dict(os.environ) == before
    assert get_settings().models_dir != tmp / "models" and not tmp.exists()


# --- who reads the environment -------------------------------------------------------------

def test_only_settings_reads_the_environment():
    """settings.py reads LOGINTEL_*; the one other use is GX's ${LOGINTEL_DATABASE_URL_SA} write."""
    uses = []
    for folder in ("include", "plugins"):
        for path in sorted((REPO / folder).rglob("*.py")):
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if re.search(r"os\.environ|os\.getenv|getenv\(", line) and not line.lstrip().startswith("#"):
                    uses.append((str(path.relative_to(REPO)), line.strip()))
    others = [u for u in uses if u[0] != "include/logintel/settings.py"]
    assert others == [("include/logintel/quality/context.py", 'os.environ[URL_VARIABLE + "_SA"] = _sqlalchemy_url(url)')]


def test_every_logintel_variable_named_in_the_code_is_read_by_settings():
    """A LOGINTEL_* variable mentioned anywhere in the library is one get_settings() reads."""
    names = set()
    for path in (REPO / "include" / "logintel").rglob("*.py"):
        names |= set(re.findall(r"\bLOGINTEL_[A-Z_]+[A-Z]\b", path.read_text()))
    assert names - set(VARIABLES) <= {"LOGINTEL_DATABASE_URL_SA"}


# --- Airflow connections -> libpq URLs -----------------------------------------------------

def _query(url: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_a_cursor_extra_is_dropped_with_one_warning_naming_the_key_not_the_value(caplog):
    caplog.set_level(logging.WARNING, logger="logintel.settings")
    raw = "postgres://u:pw@db.example:5433/logs?cursor=realdictcursor&sslmode=disable&sqlalchemy_scheme=x"
    url = connection_url(raw)
    assert url == "postgresql://u:pw@db.example:5433/logs?sslmode=disable"
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1
    assert "cursor" in warnings[0] and "sqlalchemy_scheme" in warnings[0] and "realdictcursor" not in warnings[0]
    connection_url(raw)  # the same extras again: no second warning in this process
    assert len(caplog.records) == 1


def test_libpq_extras_reach_the_query_string_quoted_for_libpq():
    url = connection_url("postgresql://h/db?options=-c%20search_path%3Dlogintel&application_name=a+b"
                         "&connect_timeout=5&target_session_attrs=read-write")
    q = _query(url)
    assert q == {"options": "-c search_path=logintel", "application_name": "a b", "connect_timeout": "5",
                 "target_session_attrs": "read-write"}
    assert "+" not in urlsplit(url).query  # libpq does not read + as a space


def test_a_password_with_special_characters_round_trips():
    for raw in ("postgresql://u:p%40ss%3Aw%2Frd@h:5432/db",  # planted-secret
                json.dumps({"conn_type": "postgres", "host": "h", "port": 5432, "login": "u",
                            "password": "p@ss:w/rd", "schema": "db"})):
        url = connection_url(raw)
        parts = urlsplit(url)
        assert unquote(parts.password) == "p@ss:w/rd" and parts.hostname == "h" and parts.port == 5432
        assert parts.path == "/db"


def test_the_json_form():
    raw = json.dumps({"conn_type": "postgres", "host": "db", "port": "5432", "login": "logintel",
                      "password": "pw", "schema": "logintel",
                      "extra": {"sslmode": "require", "cursor": "dictcursor", "keepalives": True}})
    assert connection_url(raw) == "postgresql://logintel:pw@db:5432/logintel?sslmode=require&keepalives=1"
    as_string_extra = json.dumps({"host": "db", "extra": json.dumps({"sslmode": "disable"})})
    assert connection_url(as_string_extra) == "postgresql://db?sslmode=disable"


def test_the_uri_form_with_a_json_extra():
    raw = "postgres://u@h:5432/db?__extra__=" + json.dumps({"sslmode": "verify-full", "cursor": "x"})
    assert connection_url(raw) == "postgresql://u@h:5432/db?sslmode=verify-full"


def test_a_task_sdk_connection_object():
    from airflow.sdk import Connection

    conn = Connection(conn_id="logintel_db", conn_type="postgres", host="10.0.0.5", port=6432, login="me",
                      password="s3cr:et", schema="logs", extra=json.dumps({"cursor": "namedtuplecursor",
                                                                            "sslmode": "prefer"}))
    assert connection_url(conn) == "postgresql://me:s3cr%3Aet@10.0.0.5:6432/logs?sslmode=prefer"  # planted-secret


def test_bad_connections_are_clear_errors_without_the_secret():
    with pytest.raises(SettingsError, match="must be a Postgres connection, got conn_type 'mysql'"):
        connection_url("mysql://u:secret@h/db")  # planted-secret
    with pytest.raises(SettingsError, match="AIRFLOW_CONN_LOGINTEL_DB is neither a connection URI nor valid JSON") as e:
        connection_url('{"host": "h", "password": "secret"', name="AIRFLOW_CONN_LOGINTEL_DB")
    assert "secret" not in str(e.value)
    with pytest.raises(SettingsError, match="logintel_db port must be between 1 and 65535"):
        connection_url(json.dumps({"host": "h", "port": 70000}))
    with pytest.raises(SettingsError, match="logintel_db port must be an integer, got 'abc'"):
        connection_url(json.dumps({"host": "h", "port": "abc"}))


def test_socket_folder_and_ipv6_hosts():
    assert connection_url(json.dumps({"host": "/var/run/postgresql", "schema": "db"})) == (
        "postgresql://%2Fvar%2Frun%2Fpostgresql/db")
    assert connection_url(json.dumps({"host": "::1", "port": 5432})) == "postgresql://[::1]:5432"


def test_the_libpq_keyword_list_covers_the_linked_libpq():
    """Every keyword the libpq psycopg uses knows (less the connection's own fields) passes."""
    from psycopg import pq

    known = {d.keyword.decode() for d in pq.Conninfo.get_defaults()}
    assert known - {"host", "port", "dbname", "user", "password"} <= settings_mod.LIBPQ_PARAMETERS
    assert "cursor" not in settings_mod.LIBPQ_PARAMETERS


def test_airflow_conn_env_feeds_the_settings_url(monkeypatch, caplog):
    caplog.set_level(logging.WARNING, logger="logintel.settings")
    monkeypatch.setenv("AIRFLOW_CONN_LOGINTEL_DB", "postgres://u@h:5432/db?cursor=dictcursor&sslmode=disable")
    s = get_settings()
    assert s.database_url == "postgresql://u@h:5432/db?sslmode=disable"
    assert s.database_url_source == "AIRFLOW_CONN_LOGINTEL_DB"
    assert "cursor" in caplog.text
    monkeypatch.setenv("LOGINTEL_DATABASE_URL", "postgresql://other/db")  # the explicit URL wins
    assert get_settings().database_url == "postgresql://other/db"


# --- the Airflow task helper ---------------------------------------------------------------

def test_task_database_url_without_any_configuration_is_a_clear_error():
    from logintel.airflow import tasks

    assert "AIRFLOW_CONN_LOGINTEL_DB" not in os.environ and "LOGINTEL_DATABASE_URL" not in os.environ
    with pytest.raises(RuntimeError, match=r"Logintel tasks need the Airflow connection 'logintel_db' or "
                                           r"LOGINTEL_DATABASE_URL: .*logintel_db"):
        tasks.database_url()


def test_task_database_url_prefers_logintel_database_url(monkeypatch):
    from airflow.sdk import Connection

    from logintel.airflow import tasks

    def no_lookup(conn_id):
        raise AssertionError("Connection.get must not be called")

    monkeypatch.setattr(Connection, "get", staticmethod(no_lookup))
    monkeypatch.setenv("LOGINTEL_DATABASE_URL", "postgres://u@h:5432/db")
    assert tasks.database_url() == "postgresql://u@h:5432/db"


def test_task_database_url_reads_the_connection_through_the_task_sdk(monkeypatch):
    from airflow.sdk import Connection

    from logintel.airflow import tasks

    asked = []

    def get(conn_id):
        asked.append(conn_id)
        return Connection(conn_id=conn_id, conn_type="postgres", host="db", port=5432, login="u", password="p w",
                          schema="logintel", extra=json.dumps({"cursor": "dictcursor", "sslmode": "require"}))

    monkeypatch.setattr(Connection, "get", staticmethod(get))
    assert tasks.database_url() == "postgresql://u:p%20w@db:5432/logintel?sslmode=require"  # planted-secret
    assert asked == ["logintel_db"]


def test_a_failing_connection_lookup_never_falls_back_to_the_embedded_server(monkeypatch):
    from airflow.sdk import Connection

    from logintel import db
    from logintel.airflow import tasks

    def broken(conn_id):
        raise ConnectionError("execution API unreachable")

    monkeypatch.setattr(Connection, "get", staticmethod(broken))
    monkeypatch.setattr(db, "server_url", lambda *a, **k: pytest.fail("must not start the embedded server"))
    with pytest.raises(RuntimeError, match="ConnectionError: execution API unreachable"):
        tasks.database_url()


def test_the_readme_configuration_table_matches_the_settings():
    """Every variable is in the README's table; where a row gives one variable with a plain
    default (`54329`, `on`) and a range (1–65535, ≥ 0), they are the field's own."""
    from dataclasses import fields as dataclass_fields

    from logintel.settings import Settings

    text = (REPO / "README.md").read_text()
    table = text[text.index("| variable | default | allowed | meaning |"):]
    table = table[:table.index("\n\n")]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in table.splitlines()[2:]]
    named = {v for r in rows for v in re.findall(r"`(LOGINTEL_[A-Z_]+|AIRFLOW_CONN_[A-Z_]+)`", r[0])}
    assert set(VARIABLES) <= named
    by_var = {f.metadata["env"]: f for f in dataclass_fields(Settings) if "env" in f.metadata}
    checked = 0
    for var_cell, default_cell, allowed, _meaning in rows:
        var = re.fullmatch(r"`([A-Z_]+)`", var_cell)
        f = by_var.get(var.group(1)) if var else None
        shown = re.fullmatch(r"`([^`]+)`(?: \(.*\))?", default_cell)
        if f is None or shown is None:
            continue
        if f.metadata["under_home"]:  # a folder under LOGINTEL_HOME
            assert shown.group(1).rstrip("/") == f.metadata["under_home"], var_cell
        else:
            assert f.metadata["parse"](f.metadata["env"], shown.group(1)) == f.default, var_cell
        bounds = allowed.replace(",", "")
        lo, hi = f.metadata["range"]
        if m := re.fullmatch(r"([\d.]+)–([\d.]+)", bounds):
            assert (float(m.group(1)), float(m.group(2))) == (lo, hi), var_cell
        elif m := re.fullmatch(r"≥ ([\d.]+)", bounds):
            assert (float(m.group(1)), hi) == (lo, None), var_cell
        checked += 1
    assert checked >= 25
