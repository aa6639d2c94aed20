"""The Airflow UI plugin (plugins/logintel_plugin.py) against a real PostgreSQL database.

The FastAPI app is mounted under its url_prefix in a parent app, as Airflow's API server
does (`app.mount(url_prefix, subapp)`), and driven with FastAPI's TestClient.
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from test_report import HOSTILE, seed_findings

REPO = Path(__file__).resolve().parents[2]
PLUGINS = REPO / "plugins"
PLUGIN_FILE = PLUGINS / "logintel_plugin.py"
HEAVY = ("pandas", "sklearn", "great_expectations", "matplotlib", "numpy")


def _load_plugin_module():
    """Load the plugin file the way Airflow's plugins manager does (by path, module = file stem)."""
    spec = importlib.util.spec_from_file_location("logintel_plugin", PLUGIN_FILE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def plugin():
    return _load_plugin_module()


@pytest.fixture(scope="module")
def seeded(module_db):
    return {"url": module_db, **seed_findings(module_db)}


@pytest.fixture(scope="module")
def client(plugin, seeded):
    saved = os.environ.get("LOGINTEL_PLUGIN_AUTH")
    os.environ["LOGINTEL_PLUGIN_AUTH"] = "off"
    (entry,) = plugin.LogintelPlugin.fastapi_apps
    parent = FastAPI()
    parent.mount(entry["url_prefix"], entry["app"])
    with TestClient(parent) as c:
        yield c
    if saved is None:
        os.environ.pop("LOGINTEL_PLUGIN_AUTH", None)
    else:
        os.environ["LOGINTEL_PLUGIN_AUTH"] = saved


def test_plugin_registration_is_valid_for_airflow(plugin):
    from airflow.api_fastapi.core_api.datamodels.plugins import ExternalViewResponse, FastAPIAppResponse
    from airflow.plugins_manager import AirflowPlugin

    assert issubclass(plugin.LogintelPlugin, AirflowPlugin)
    assert plugin.LogintelPlugin.name == "logintel"
    (entry,) = plugin.LogintelPlugin.fastapi_apps
    assert entry["url_prefix"] == "/logintel"
    FastAPIAppResponse.model_validate({**entry, "app": "logintel_plugin.LazyASGIApp"})
    for view in plugin.LogintelPlugin.external_views:
        parsed = ExternalViewResponse.model_validate(view)
        assert not parsed.href.startswith("/") and not parsed.url_route.startswith("/")
    assert plugin.LogintelPlugin.external_views[0]["href"] == "logintel/"


def test_api_findings_returns_the_champions_findings(client, seeded):
    r = client.get("/logintel/api/findings")
    assert r.status_code == 200
    body = r.json()
    assert body["model_version"] == "v1"
    assert body["total"] == 5 and body["count"] == 5
    assert body["by_kind"] == {"level_understated": 2, "level_overstated": 1, "missed_anomaly": 1, "false_anomaly": 1}
    confidences = [f["confidence"] for f in body["findings"]]
    assert confidences == sorted(confidences, reverse=True)
    top = body["findings"][0]
    assert top["log_id"] == seeded["hostile_id"] and top["kind"] == "level_understated"
    assert top["message"] == HOSTILE  # JSON carries the data as stored
    assert top["recorded_value"] == "INFO" and top["suggested_value"] == "ERROR"
    assert {"ts", "service", "source", "source_line", "reason", "model_version", "status"} <= set(top)


def test_api_findings_filters_and_limits(client):
    r = client.get("/logintel/api/findings", params={"kind": "level_understated", "limit": 1})
    body = r.json()
    assert r.status_code == 200 and body["count"] == 1 and body["kind"] == "level_understated"
    assert body["findings"][0]["suggested_value"] == "ERROR"
    r = client.get("/logintel/api/findings", params={"kind": "level_understated", "limit": 1, "offset": 1})
    assert r.json()["findings"][0]["suggested_value"] == "FATAL"
    assert client.get("/logintel/api/findings?kind=&limit=2").json()["count"] == 2  # empty kind: all kinds
    everything = client.get("/logintel/api/findings", params={"model_version": "all"}).json()
    assert everything["total"] == 6 and everything["model_version"] is None
    assert client.get("/logintel/api/findings", params={"model_version": "v0"}).json()["total"] == 1
    assert client.get("/logintel/api/findings", params={"kind": "bogus"}).status_code == 422
    assert client.get("/logintel/api/findings", params={"kind": "' OR 1=1 --"}).status_code == 422
    assert client.get("/logintel/api/findings", params={"limit": 0}).status_code == 422
    assert client.get("/logintel/api/findings", params={"limit": 100_000}).status_code == 422


def test_api_predictions_for_a_log(client, seeded):
    log_id = seeded["hostile_id"]
    r = client.get(f"/logintel/api/predictions/{log_id}")
    assert r.status_code == 200
    body = r.json()
    assert body["log"]["id"] == log_id and body["log"]["message"] == HOSTILE
    assert body["log"]["attrs"] == {"host": "web-1"}
    assert body["champion"] == "v1"
    assert [p["model_version"] for p in body["predictions"]] == ["v1", "v0"]  # champion first
    assert body["predictions"][0]["predicted_level"] == "ERROR" and body["predictions"][0]["model_status"] == "champion"
    assert sorted(f["kind"] for f in body["findings"]) == ["level_understated", "missed_anomaly"]


def test_api_predictions_404_and_422(client):
    r = client.get("/logintel/api/predictions/987654321")
    assert r.status_code == 404 and "not found" in r.json()["detail"]
    assert client.get("/logintel/api/predictions/abc").status_code == 422
    assert client.get("/logintel/api/predictions/0").status_code == 422
    assert client.get("/logintel/api/predictions/99999999999999999999").status_code == 422  # beyond bigint


def test_api_summary(client):
    body = client.get("/logintel/api/summary").json()
    assert body == {"model_version": "v1", "total": 5,
                    "by_kind": {"level_understated": 2, "level_overstated": 1, "missed_anomaly": 1, "false_anomaly": 1}}


def test_findings_page_escapes_messages(client, seeded):
    r = client.get("/logintel/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "--\\x1b[31mred" in html and "\x1b" not in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html
    assert "<script" not in html.lower()
    assert "retired model" not in html  # only the champion's findings
    assert f'href="api/predictions/{seeded["hostile_id"]}"' in html
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'self'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    page = client.get("/logintel/", params={"kind": "level_overstated"}).text
    assert "user alice logged in" in page and "disk failure" not in page
    assert client.get("/logintel/", params={"kind": "<script>"}).status_code == 422


def test_report_is_served_when_written(client, seeded, tmp_path, monkeypatch):
    from logintel.report import write_report

    monkeypatch.setenv("LOGINTEL_REPORTS_DIR", str(tmp_path / "reports"))
    assert client.get("/logintel/report").status_code == 404
    assert 'href="report"' not in client.get("/logintel/").text
    write_report(seeded["url"])
    r = client.get("/logintel/report")
    assert r.status_code == 200 and "Logintel report" in r.text
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert 'href="report"' in client.get("/logintel/").text


def test_data_docs_are_served_sandboxed_and_confined(client, seeded, tmp_path, monkeypatch):
    from logintel.quality.context import local_site

    monkeypatch.setenv("LOGINTEL_GX_ROOT", str(tmp_path))
    site = local_site(seeded["url"])  # the site of the plugin's own database
    site.mkdir(parents=True)
    (site / "index.html").write_text("<html>docs</html>")
    (tmp_path / "secret.txt").write_text("no")
    r = client.get("/logintel/data-docs/")
    assert r.status_code == 200 and "docs" in r.text
    assert r.headers["content-security-policy"].startswith("sandbox")
    assert client.get("/logintel/data-docs/../../../secret.txt").status_code == 404
    assert client.get("/logintel/data-docs/%2e%2e/%2e%2e/%2e%2e/secret.txt").status_code == 404
    assert client.get("/logintel/data-docs/a%00b").status_code == 404
    (site / "escape.html").symlink_to(tmp_path / "secret.txt")
    assert client.get("/logintel/data-docs/escape.html").status_code == 404


def test_auth_is_required_by_default(plugin, seeded, monkeypatch):
    monkeypatch.delenv("LOGINTEL_PLUGIN_AUTH", raising=False)
    parent = FastAPI()
    parent.mount("/logintel", plugin.LazyASGIApp(plugin.create_app))
    with TestClient(parent) as c:
        for path in ("/logintel/", "/logintel/api/findings", "/logintel/api/predictions/1", "/logintel/report"):
            assert c.get(path).status_code == 401, path


def test_database_down_gives_503_without_the_password(plugin, monkeypatch):
    monkeypatch.setenv("LOGINTEL_PLUGIN_AUTH", "off")
    monkeypatch.setenv("LOGINTEL_DATABASE_URL", "postgresql://u:hunter2-secret@127.0.0.1:1/nope")  # planted-secret
    with TestClient(plugin.create_app()) as c:
        r = c.get("/api/findings")
    assert r.status_code == 503
    assert "hunter2" not in r.text


def test_database_without_schema_gives_503_with_a_hint(plugin, server_url, monkeypatch):
    monkeypatch.setenv("LOGINTEL_PLUGIN_AUTH", "off")
    monkeypatch.setenv("LOGINTEL_DATABASE_URL", server_url)  # the server's `postgres` database: no logintel schema
    with TestClient(plugin.create_app()) as c:
        r = c.get("/api/findings")
    assert r.status_code == 503 and "no schema yet" in r.json()["detail"]


def test_plugin_module_imports_fast_and_light(tmp_path):
    """In a fresh interpreter that has Airflow loaded (as every Airflow process has), importing
    the plugin pulls in no pandas/sklearn/GX/matplotlib: cost measured by what is imported, not
    by seconds (a time limit is flaky on a loaded machine)."""
    code = f"""
import json, sys, time
import airflow.plugins_manager  # already imported in any Airflow process
before = set(sys.modules)
import importlib.util
spec = importlib.util.spec_from_file_location("logintel_plugin", {str(PLUGIN_FILE)!r})
mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
added = set(sys.modules) - before
print(json.dumps({{"plugin_loaded": "logintel.vocab" in added,
                   "heavy": [m for m in {HEAVY!r} if m in added]}}))
"""
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["plugin_loaded"], result  # the check saw the plugin's own imports
    assert result["heavy"] == [], result


def test_airflow_plugins_manager_loads_the_plugin(tmp_path):
    """Airflow's own loader finds the plugin in the plugins folder and the API accepts its description."""
    code = """
import json
from airflow import plugins_manager
from airflow.api_fastapi.core_api.datamodels.plugins import PluginResponse
apps, _ = plugins_manager.get_fastapi_plugins()
info = [i for i in plugins_manager.get_plugin_info() if i["name"] == "logintel"]
PluginResponse.model_validate({**info[0], "source": str(info[0]["source"])})
print(json.dumps({"prefixes": [a["url_prefix"] for a in apps],
                  "views": [v["url_route"] for v in info[0]["external_views"]]}))
"""
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path), "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert "/logintel" in result["prefixes"]
    assert result["views"] == ["logintel", "logintel-report"]


def test_a_logged_in_request_succeeds_and_a_forged_token_does_not(plugin, seeded, monkeypatch):
    """Authentication is not only refusal: a JWT issued by Airflow's own auth manager (as the
    UI's `_token` cookie or `POST /auth/token` gives) is let through; a token Airflow did not
    sign is refused."""
    monkeypatch.delenv("LOGINTEL_PLUGIN_AUTH", raising=False)
    from airflow.api_fastapi.app import init_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    manager = init_auth_manager()
    token = manager.generate_jwt(SimpleAuthManagerUser(username="admin", role="admin"))
    parent = FastAPI()
    parent.mount("/logintel", plugin.LazyASGIApp(plugin.create_app))
    with TestClient(parent) as c:
        ok = c.get("/logintel/api/findings", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200, ok.text
        assert ok.json()["total"] == 5  # the seeded findings, as an anonymous-off request sees them
        c.cookies.set("_token", token)
        assert c.get("/logintel/").status_code == 200  # the UI's session cookie
        c.cookies.clear()
        forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
        assert c.get("/logintel/api/findings", headers={"Authorization": f"Bearer {forged}"}).status_code in (401, 403)
        assert c.get("/logintel/api/findings").status_code == 401


@pytest.fixture
def with_auth(plugin, monkeypatch):
    """The plugin with Airflow's login on: (client, a viewer's JWT, an editor's JWT); triage undone after."""
    monkeypatch.delenv("LOGINTEL_PLUGIN_AUTH", raising=False)
    from airflow.api_fastapi.app import init_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    manager = init_auth_manager()
    viewer = manager.generate_jwt(SimpleAuthManagerUser(username="vera", role="viewer"))
    editor = manager.generate_jwt(SimpleAuthManagerUser(username="eddie", role="user"))
    parent = FastAPI()
    parent.mount("/logintel", plugin.LazyASGIApp(plugin.create_app))
    with TestClient(parent) as c:
        yield c, viewer, editor


def _decisions_then_undo(url: str, group_id: str) -> list[tuple]:
    """The findings' (status, by, note) of a group; then every decision is taken back for the next test."""
    import psycopg

    with psycopg.connect(url) as conn:
        decided = conn.execute("SELECT status, decided_by, note FROM logintel.dq_findings WHERE group_id = %s",
                               (group_id,)).fetchall()
        conn.execute("UPDATE logintel.dq_findings SET status = 'open', decided_by = NULL, note = NULL")
        conn.execute("DELETE FROM logintel.group_decisions")
    return decided


def test_triage_needs_a_role_that_may_edit_and_a_same_site_json_request(with_auth, seeded):
    """Read-only users look, editors decide; the decision is stored with who made it."""
    c, viewer, editor = with_auth
    groups = c.get("/logintel/api/groups", headers={"Authorization": f"Bearer {viewer}"})
    assert groups.status_code == 200 and groups.json()["count"] >= 1
    target = groups.json()["groups"][0]["group_id"]
    body = {"target": target, "decision": "dismissed", "note": "both call sites are right"}
    assert c.post("/logintel/api/triage", json=body).status_code == 401
    as_viewer = c.post("/logintel/api/triage", json=body, headers={"Authorization": f"Bearer {viewer}"})
    assert as_viewer.status_code == 403 and "not change" in as_viewer.json()["detail"]
    cross = c.post("/logintel/api/triage", json=body,
                   headers={"Authorization": f"Bearer {editor}", "Origin": "https://evil.example"})
    assert cross.status_code == 403
    form = c.post("/logintel/api/triage", data=body, headers={"Authorization": f"Bearer {editor}"})
    assert form.status_code in (415, 422)
    ok = c.post("/logintel/api/triage", json=body, headers={"Authorization": f"Bearer {editor}"})
    assert ok.status_code == 200, ok.text
    assert ok.json()["by"] == "eddie" and ok.json()["findings"] >= 1
    missing = c.post("/logintel/api/triage", json={**body, "target": "0123456789ab"},
                     headers={"Authorization": f"Bearer {editor}"})
    assert missing.status_code == 404
    decided = _decisions_then_undo(seeded["url"], target)
    assert decided and set(decided) == {("dismissed", "eddie", "both call sites are right")}


def test_groups_api_filters_sorts_and_pages(client, seeded):
    """Search and filters: kind, service, level, status, time range, text; sorted; paged."""
    every = client.get("/logintel/api/groups").json()
    assert every["total"] == 5 and every["count"] == 5  # the champion's five findings, one group each
    kinds = client.get("/logintel/api/groups", params={"kind": "level_understated"}).json()
    assert {g["kind"] for g in kinds["groups"]} == {"level_understated"} and kinds["total"] == 2
    disk = client.get("/logintel/api/groups", params={"service": "disk"}).json()
    assert [g["recorded_value"] for g in disk["groups"]] == ["DEBUG"]
    assert client.get("/logintel/api/groups", params={"level": "FATAL"}).json()["total"] == 1
    assert client.get("/logintel/api/groups", params={"text": "I/O ERROR"}).json()["total"] == 1  # any case
    assert client.get("/logintel/api/groups", params={"text": "no such words"}).json()["total"] == 0
    assert client.get("/logintel/api/groups", params={"status": "dismissed"}).json()["total"] == 0
    early = client.get("/logintel/api/groups", params={"until": "2026-01-05T10:30:00"}).json()  # naive: UTC
    assert early["total"] == 3  # the hostile line's two findings and the disk line
    late = client.get("/logintel/api/groups", params={"since": "2026-01-05T11:00:00Z"}).json()
    assert late["total"] == 2
    recent = client.get("/logintel/api/groups", params={"sort": "recent"}).json()["groups"]
    assert [g["last_seen"] for g in recent] == sorted((g["last_seen"] for g in recent), reverse=True)
    confident = client.get("/logintel/api/groups", params={"sort": "confidence"}).json()["groups"]
    assert [float(g["confidence"]) for g in confident] == sorted((float(g["confidence"]) for g in confident),
                                                                 reverse=True)
    first = client.get("/logintel/api/groups", params={"sort": "confidence", "limit": 2}).json()
    second = client.get("/logintel/api/groups", params={"sort": "confidence", "limit": 2, "offset": 2}).json()
    assert first["total"] == 5 and first["count"] == 2 and second["count"] == 2
    assert [g["group_id"] for g in first["groups"] + second["groups"]] == [g["group_id"] for g in confident[:4]]
    assert client.get("/logintel/api/groups", params={"sort": "bogus"}).status_code == 422
    assert client.get("/logintel/api/groups", params={"status": "bogus"}).status_code == 422
    assert client.get("/logintel/api/groups", params={"since": "yesterday"}).status_code == 422


def test_a_group_page_shows_its_lines_with_source_and_predictions(client, seeded):
    disk = client.get("/logintel/api/groups", params={"service": "disk"}).json()["groups"][0]
    detail = client.get(f"/logintel/api/groups/{disk['group_id']}").json()
    assert detail["group"]["group_id"] == disk["group_id"] and detail["count"] == 1
    (line,) = detail["lines"]
    assert (line["source"], line["source_line"], line["level"]) == ("app.log", 2, "DEBUG")
    assert line["predicted_level"] == "FATAL" and line["host"] == "web-1"
    page = client.get(f"/logintel/groups/{disk['group_id']}")
    assert page.status_code == 200 and "app.log:2" in page.text and "FATAL (0.93)" in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert client.get("/logintel/groups/0123456789ab").status_code == 404
    assert client.get("/logintel/api/groups/not-a-group").status_code == 422
    hostile = client.get("/logintel/api/groups", params={"service": "api", "kind": "level_understated"}).json()
    html = client.get(f"/logintel/groups/{hostile['groups'][0]['group_id']}").text
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def _csrf(html: str) -> str:
    import re

    return re.search(r'name="csrf" value="([0-9a-f]{64})"', html).group(1)


def test_the_html_triage_form_needs_its_csrf_token_and_an_editor(with_auth, seeded):
    """Plain HTML forms (the page's CSP stays strict): a token bound to the session defeats a
    cross-site form; a viewer sees no buttons and is refused; an editor's decision lands."""
    c, viewer, editor = with_auth
    c.cookies.set("_token", viewer)
    as_viewer = c.get("/logintel/").text
    assert 'action="triage"' not in as_viewer and "may look, not triage" in as_viewer
    target = c.get("/logintel/api/groups", params={"service": "disk"}).json()["groups"][0]["group_id"]
    form = {"target": target, "decision": "dismissed", "csrf": "", "back": "group"}
    refused = c.post("/logintel/triage", data=form, follow_redirects=False)
    assert refused.status_code == 403 and "not change" in refused.json()["detail"]
    c.cookies.set("_token", editor)
    page = c.get("/logintel/").text
    assert 'action="triage"' in page
    token = _csrf(page)
    for forged in ("0" * 64, ""):
        stale = c.post("/logintel/triage", data={**form, "csrf": forged}, follow_redirects=False)
        assert stale.status_code == 403 and "stale" in stale.json()["detail"]
    assert c.post("/logintel/triage", data={**form, "csrf": token}, follow_redirects=False,
                  headers={"Origin": "https://evil.example"}).status_code == 403
    ok = c.post("/logintel/triage", data={**form, "csrf": token, "note": "a test disk"}, follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == f"groups/{target}"
    shown = c.get(f"/logintel/groups/{target}").text
    assert "dismissed" in shown and "a test disk" in shown
    assert target not in c.get("/logintel/", params={"status": "open"}).text
    assert _decisions_then_undo(seeded["url"], target) == [("dismissed", "eddie", "a test disk")]



def test_the_filter_form_as_a_browser_sends_it(client):
    """An untouched form sends every field empty: that is no filter, not an error."""
    empty = {k: "" for k in ("kind", "service", "level", "status", "since", "until", "text")}
    r = client.get("/logintel/", params={**empty, "sort": "impact"})
    assert r.status_code == 200 and "5 groups." in r.text
    assert client.get("/logintel/api/groups", params=empty).json()["total"] == 5
    assert client.get("/logintel/", params={**empty, "since": "not a time"}).status_code == 422


def test_scoring_coverage_is_shown_and_served(client, seeded):
    from logintel import coverage, db

    url = seeded["url"]
    with db.transaction(url) as conn:
        run_id = conn.execute("INSERT INTO logintel.scoring_runs (run_key, model_version) VALUES ('cov', 'v1') "
                              "RETURNING id").fetchone()[0]
    rows = coverage.take_snapshot(url, run_id)
    assert rows and sum(r["logs"] for r in rows) > 0
    body = client.get("/logintel/api/coverage").json()
    assert body["min_coverage"] == 0.99
    assert [(s["service"], s["scored"], s["logs"]) for s in body["services"]] == [
        (r["service"], r["scored"], r["logs"]) for r in rows]
    page = client.get("/logintel/").text
    assert f"Scoring coverage after run {run_id}" in page
    limits = client.get("/logintel/api/drift").json()["limits"]
    assert limits == {"unseen_template_share": 0.05, "psi": 0.25, "flag_rate_change": 0.1}
    assert f"{100 * rows[0]['coverage']:.1f} %" in page
