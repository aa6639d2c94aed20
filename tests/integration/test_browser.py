"""The Logintel view in a real browser: headless Chromium (Debian's package, driven by Playwright's
Python API) against a real Airflow API server with the plugin, Airflow's login and its roles.

Log in, open the view inside the Airflow UI (an iframe at /plugin/logintel), filter, open a group,
dismiss it, see it gone from the open list, and still gone after new logs are scored.
A reader (viewer role) sees the same view without triage buttons.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from airflow_runner import REPO

pytestmark = pytest.mark.slow

CHROMIUM = os.environ.get("LOGINTEL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
FIRST_PAGE_SECONDS = 120  # the plugin's app is built on its first request (imports), on a loaded 2-core machine


def _need_browser():
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's package (`sudo apt-get install chromium`; "
                    "`.ci/run` does) or set LOGINTEL_CHROMIUM to a Chromium binary")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("Playwright's Python package is missing: `make test` installs it from requirements.txt")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pipeline(url: str, tmp: Path, seed: int, start: datetime, batch: str | None = None, train: bool = False) -> None:
    from logintel import corrupt, findings, scoring, training
    from logintel.ingest import ingest_paths
    from logintel.synthetic import generate, write_logs

    path = tmp / f"logs-{seed}.jsonl"
    write_logs(generate(4000, days=1, seed=seed, start=start), path)
    ingest_paths([path], url=url)
    corrupt.inject(url, rate=0.05, scheme="reference", seed=seed, batch=batch)
    if train:
        training.train_and_register(url, seed=1)
    scoring.score_all(url, run_key=f"browser-{seed}")
    findings.record_findings(url, f"browser-{seed}")


@pytest.fixture
def api_server(fresh_db, tmp_path):
    """`airflow api-server` with the Logintel plugin, users admin (admin) and reader (viewer)."""
    _need_browser()
    _pipeline(fresh_db, tmp_path, seed=21, start=datetime(2026, 1, 5, tzinfo=timezone.utc), train=True)
    port = _free_port()
    passwords = tmp_path / "passwords.json"
    env = {**os.environ, "LOGINTEL_DATABASE_URL": fresh_db, "LOGINTEL_PLUGIN_AUTH": "on",
           "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
           "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin,reader:viewer",
           "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
           "AIRFLOW__API_AUTH__JWT_SECRET": os.urandom(32).hex(), "AIRFLOW__API__PORT": str(port)}
    log = tmp_path / "api-server.log"
    proc = subprocess.Popen(["airflow", "api-server", "--port", str(port)], env=env, cwd=REPO,
                            stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        import httpx

        deadline = time.time() + 180
        while time.time() < deadline:
            try:
                if httpx.get(f"{base}/auth/login", timeout=5).status_code == 200 and passwords.is_file():
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                pytest.fail(f"the API server exited:\n{log.read_text()[-3000:]}")
            time.sleep(2)
        else:
            pytest.fail(f"the API server did not start:\n{log.read_text()[-3000:]}")
        yield {"base": base, "url": fresh_db, "passwords": json.loads(passwords.read_text()), "tmp": tmp_path}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def _login(browser, base: str, user: str, password: str):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(f"{base}/auth/login", wait_until="networkidle")
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_function("() => document.cookie !== null && location.pathname.indexOf('/auth/login') < 0",
                           timeout=60_000)
    assert "_token" in {c["name"] for c in context.cookies()}
    return context, page


def _open_view(page, base: str):
    """The Logintel view inside the Airflow UI (an iframe), loaded."""
    page.goto(f"{base}/plugin/logintel")
    view = page.frame_locator("iframe[title='Logintel findings']")
    view.locator("h1", has_text="Logintel findings").wait_for(timeout=FIRST_PAGE_SECONDS * 1000)
    return view


def _filter(view, **choices: str) -> None:
    """Choose in the filter form, submit, and wait for the page the server rendered for it
    (its <option selected> attributes: a choice made in the old page only sets a property)."""
    for name, value in choices.items():
        view.locator(f"select[name={name}]").select_option(value)
    view.locator("button", has_text="Filter").click()
    for name, value in choices.items():
        view.locator(f"select[name={name}] option[value={value}][selected]").wait_for(state="attached")
    view.locator("table.groups").wait_for()


def _open_group_ids(view) -> set[str]:
    from playwright.sync_api import Error

    for _ in range(5):  # the frame may still be finishing a navigation: read the settled page
        try:
            view.locator("table.groups").wait_for()
            return set(view.locator("table.groups tr[data-group]").evaluate_all("rows => rows.map(r => r.dataset.group)"))
        except Error as exc:
            if "navigation" not in str(exc):
                raise
            time.sleep(1)
    raise AssertionError("the Logintel view kept navigating")


def test_triage_in_the_airflow_ui_with_a_real_browser(api_server):
    from playwright.sync_api import sync_playwright

    from logintel.findings import export_groups

    base, shots = api_server["base"], api_server["tmp"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            # a reader looks, and cannot triage
            _, reader = _login(browser, base, "reader", api_server["passwords"]["reader"])
            view = _open_view(reader, base)
            assert view.locator("text=Your role may look, not triage").count() == 1
            assert view.locator("button", has_text="Dismiss").count() == 0
            # an admin filters, opens a group and dismisses it
            _, page = _login(browser, base, "admin", api_server["passwords"]["admin"])
            view = _open_view(page, base)
            page.screenshot(path=str(shots / "view.png"))
            _filter(view, kind="level_understated", status="open")
            kinds = view.locator("table.groups tr[data-group] td:nth-child(2)").all_inner_texts()
            assert kinds and set(kinds) == {"level_understated"}, kinds
            before = _open_group_ids(view)
            first = view.locator("table.groups tr[data-group] td:first-child a").first
            group_id = first.inner_text()
            first.click()
            view.locator("h1", has_text=f"Finding group {group_id}").wait_for()
            assert view.locator("text=Lines (").count() == 1 and ".jsonl:" in view.locator("table").last.inner_text()
            page.screenshot(path=str(shots / "group.png"))
            view.locator("input[name=note]").fill("checked in the browser: both levels are right")
            view.locator("button", has_text="Dismiss: never raise it again").click()
            view.locator("strong.status", has_text="dismissed").wait_for()
            # gone from the open list
            view = _open_view(page, base)
            _filter(view, kind="level_understated", status="open")
            open_now = _open_group_ids(view)
            assert group_id in before and group_id not in open_now
            # new logs arrive and are scored by the same model: the dismissed group stays dismissed
            _pipeline(api_server["url"], shots, seed=22, start=datetime(2026, 1, 6, tzinfo=timezone.utc),
                      batch="latest")
            page.reload()
            view = page.frame_locator("iframe[title='Logintel findings']")
            view.locator("h1", has_text="Logintel findings").wait_for()
            _filter(view, kind="level_understated", status="open")
            assert group_id not in _open_group_ids(view)
        finally:
            browser.close()
    decided = {g["group_id"]: g for g in export_groups(api_server["url"])}[group_id]
    assert decided["status"] == "dismissed"
    target = os.environ.get("LOGINTEL_SCREENSHOTS_DIR")  # `LOGINTEL_SCREENSHOTS_DIR=docs make test ...`
    if target:
        for name in ("view.png", "group.png"):
            shutil.copy(shots / name, Path(target) / f"airflow-{name}")
