"""Logintel in the Airflow UI: a findings page, the HTML report and a small JSON API.

Airflow 3 way (no Flask AppBuilder): a FastAPI app registered through `fastapi_apps`, mounted
by the API server at /logintel, and `external_views` that put it in the UI's Browse menu
(rendered in an iframe at /plugin/logintel).

    GET /logintel/                          findings page (counts by kind, top findings)
    GET /logintel/report                    the HTML report written by `logintel report` / log_scoring
    GET /logintel/data-docs/...             the Great Expectations Data Docs site (sandboxed)
    GET /logintel/api/summary               findings per kind (champion model)
    GET /logintel/api/findings?kind=&limit=&offset=&model_version=
    GET /logintel/api/predictions/{log_id}  the log, its predictions and its findings (404 if unknown)
    GET /logintel/api/groups?kind=&model_version=   findings grouped by call site / episode
    POST /logintel/api/triage               {"target": group or finding id, "decision": confirmed|dismissed|open,
                                             "note": ...}: needs a role that may edit DAGs (Airflow's
                                             auth manager: is_authorized_dag PUT), a JSON body, and no
                                             foreign Origin (a cross-site form cannot send JSON)

Airflow imports every plugin module in the scheduler, the dag-processor and each task
process, so this module imports nothing but Airflow's plugin base class: FastAPI, Jinja2,
psycopg and the Logintel library are imported when the first request arrives.

Access: the endpoints require the Airflow login (the UI's `_token` cookie or an
`Authorization: Bearer` JWT, checked by Airflow's own `get_user`), because log messages can
be sensitive. Set LOGINTEL_PLUGIN_AUTH=off to open them (local development, tests).
The database is LOGINTEL_DATABASE_URL, else the Airflow connection `logintel_db` (read through
the Task SDK: `logintel.airflow.connection.database_url()`), resolved once, on the first request
that needs it; never an embedded server. Connections are read-only.
"""
# No `from __future__ import annotations`: FastAPI resolves the endpoints' annotations from
# the module globals then, and Request & co. are imported inside create_app().
import logging
import threading
from pathlib import Path
from typing import Any, Callable

from airflow.plugins_manager import AirflowPlugin

from logintel.vocab import FINDING_KINDS as KINDS, REPORT_FILE  # tiny, import-free: cheap at plugin load

log = logging.getLogger(__name__)

URL_PREFIX = "/logintel"
UI_DIR = Path(__file__).resolve().parent / "logintel_ui"
MAX_LIMIT = 1000
GROUPS_PER_PAGE = 50
BIGINT_MAX = 2**63 - 1

# Pages contain no script; images are inline. The Airflow UI frames them (same origin).
PAGE_CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; "
            "form-action 'self'; frame-ancestors 'self'")
# Data Docs need their scripts, so they run sandboxed in an opaque origin: no access to
# the Airflow session.
DATA_DOCS_CSP = "sandbox allow-scripts allow-popups allow-popups-to-escape-sandbox; frame-ancestors 'self'"
# same-origin, not no-referrer: with no-referrer a browser sends `Origin: null` on our own form posts;
# same-origin still sends nothing to other sites.
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}


def auth_enabled() -> bool:
    """LOGINTEL_PLUGIN_AUTH (default on; off/false/0/no opens the endpoints)."""
    from logintel.settings import get_settings  # import-light, like this module

    return get_settings().plugin_auth


class LazyASGIApp:
    """An ASGI app that builds the real (FastAPI) app on its first request.

    Keeps `import logintel_plugin` cheap in every Airflow process that loads plugins but
    never serves HTTP. Starlette's Mount accepts any ASGI callable.
    """

    def __init__(self, factory: Callable[[], Any]):
        self._factory = factory
        self._app: Any = None
        self._lock = threading.Lock()

    def get_app(self) -> Any:
        if self._app is None:
            with self._lock:
                if self._app is None:
                    self._app = self._factory()
        return self._app

    async def __call__(self, scope, receive, send) -> None:
        await self.get_app()(scope, receive, send)


def create_app():
    """The Logintel FastAPI app (imports happen here, not at module import)."""
    from contextlib import contextmanager
    from datetime import datetime, timezone

    import psycopg
    from fastapi import Depends, FastAPI, Form, HTTPException, Query, Request
    from fastapi import Path as PathParam
    from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse
    from jinja2 import FileSystemLoader

    from pydantic import BaseModel, Field

    from logintel import db
    from logintel.findings import GROUP_SORTS, GROUP_STATUSES, query_groups
    from logintel.triage import GROUP_ID
    from logintel.airflow.connection import DatabaseNotConfigured, database_url
    from logintel.display import jinja_environment
    from logintel.settings import get_settings, mask_url

    async def require_user(request: Request) -> Any:
        """Airflow's own authentication: the UI session cookie or a bearer JWT."""
        if not auth_enabled():
            return None
        from airflow.api_fastapi.core_api import security

        credentials = await security.bearer_scheme(request)
        return await security.get_user(request, None, credentials)

    app = FastAPI(title="Logintel", version="1", dependencies=[Depends(require_user)],
                  description="Logintel findings: logs whose recorded level or anomaly flag looks wrong.")

    env = jinja_environment(FileSystemLoader(str(UI_DIR)))

    async def database_unavailable(request: Request, exc: psycopg.Error) -> JSONResponse:
        # Say what is wrong without leaking the URL's password (db.connect masks it) or the SQL.
        if isinstance(exc, (psycopg.errors.UndefinedTable, psycopg.errors.InvalidSchemaName)):
            detail = "the Logintel database has no schema yet: run `logintel db up` or the log_ingest DAG"
        else:
            detail = "the Logintel database is unavailable"
        log.warning("logintel plugin: %s (%s: %s)", detail, type(exc).__name__, (str(exc).splitlines() or [""])[0])
        return JSONResponse({"detail": detail}, status_code=503)

    for error in (psycopg.OperationalError, psycopg.errors.UndefinedTable, psycopg.errors.InvalidSchemaName):
        app.add_exception_handler(error, database_unavailable)

    async def database_not_configured(request: Request, exc: DatabaseNotConfigured) -> JSONResponse:
        log.warning("logintel plugin: %s", exc)
        return JSONResponse({"detail": "the Logintel database is not configured: set LOGINTEL_DATABASE_URL "
                                       "or the Airflow connection logintel_db"}, status_code=503)

    app.add_exception_handler(DatabaseNotConfigured, database_not_configured)
    resolved: list[str] = []  # the database URL, resolved once (at the edge) and passed down

    def database() -> str:
        if not resolved:
            resolved.append(database_url())
        return resolved[0]

    @contextmanager
    def session():
        with db.connect(database()) as conn:
            conn.read_only = True
            yield conn

    rows = db.query

    def parse_time(name: str, value: str | None) -> datetime | None:
        """ISO 8601; empty (an untouched form field) is no filter; without a zone it is UTC."""
        if not (value or "").strip():
            return None
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise HTTPException(status_code=422, detail=f"{name} must be an ISO 8601 time, e.g. 2026-01-05T10:00")
        return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed

    def scope_version(conn, model_version: str | None) -> str | None:
        """'champion' (default): the champion's version, or None (all) when there is none; 'all': None."""
        choice = (model_version or "champion").strip()
        if choice == "all":
            return None
        if choice == "champion":
            champ = rows(conn, "report/champion")
            return champ[0]["version"] if champ else None
        return choice

    def check_kind(kind: str | None) -> str | None:
        if kind in (None, ""):
            return None
        if kind not in KINDS:
            raise HTTPException(status_code=422, detail=f"kind must be one of {', '.join(KINDS)}")
        return kind

    def findings(kind: str | None, limit: int, offset: int, model_version: str | None) -> dict:
        kind = check_kind(kind)
        with session() as conn:
            version = scope_version(conn, model_version)
            by_kind = rows(conn, "report/findings_by_kind", {"model_version": version})
            top = rows(conn, "report/top_findings", {"model_version": version, "kind": kind,
                                                     "limit": limit, "offset": offset})
        return {"model_version": version, "kind": kind, "limit": limit, "offset": offset,
                "by_kind": {r["kind"]: r["findings"] for r in by_kind},
                "total": sum(r["findings"] for r in by_kind), "count": len(top), "findings": top}

    def report_path() -> Path:
        return get_settings().reports_dir / REPORT_FILE

    def data_docs_root() -> Path:
        from logintel.quality.context import local_site

        return local_site(database())

    @app.get("/report", response_class=HTMLResponse, summary="The Logintel HTML report")
    def report() -> FileResponse:
        path = report_path()
        if not path.is_file():
            raise HTTPException(status_code=404, detail="no report yet: run the log_scoring DAG or `logintel report`")
        return FileResponse(path, media_type="text/html; charset=utf-8",
                            headers={"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-cache",
                                     **SECURITY_HEADERS})

    @app.get("/data-docs/{file_path:path}", summary="Great Expectations Data Docs (local site)")
    def data_docs(file_path: str) -> FileResponse:
        root = data_docs_root().resolve()
        try:
            target = (root / file_path).resolve()  # follows symlinks: the check below sees the real file
            if target.is_dir():
                target = target / "index.html"
            ok = target.is_relative_to(root) and target.is_file()
        except (OSError, ValueError):  # e.g. an embedded NUL byte
            ok = False
        if not ok:
            raise HTTPException(status_code=404, detail="no such Data Docs page")
        return FileResponse(target, headers={"Content-Security-Policy": DATA_DOCS_CSP, **SECURITY_HEADERS})

    @app.get("/api/summary", summary="Findings per kind")
    def api_summary(model_version: str | None = None) -> dict:
        data = findings(None, 1, 0, model_version)
        return {k: data[k] for k in ("model_version", "by_kind", "total")}

    def scoring_coverage() -> list[dict]:
        from logintel import coverage

        with session() as conn:
            return coverage.latest(conn)

    def scoring_drift() -> list[dict]:
        from logintel import drift

        with session() as conn:
            return drift.latest(conn)

    def drifted_services() -> list[dict]:
        """The services of the latest drift snapshot beyond the drift suite's main limits."""
        s = get_settings()
        return [d for d in scoring_drift() if d["new_service"] or d["unseen_template_share"] > s.drift_max_unseen
                or max(d["level_psi"] or 0, d["template_level_psi"] or 0) > s.drift_max_psi]

    @app.get("/api/drift", summary="Drift per service of the latest scoring run's logs against the model's history")
    def api_drift() -> dict:
        s = get_settings()
        return {"services": scoring_drift(), "limits": {"unseen_template_share": s.drift_max_unseen,
                                                          "psi": s.drift_max_psi, "flag_rate_change": s.drift_max_flag_change}}

    @app.get("/api/coverage", summary="Scoring coverage per service after the latest scoring run")
    def api_coverage() -> dict:
        return {"services": scoring_coverage(), "min_coverage": get_settings().min_coverage}

    @app.get("/api/findings", summary="Findings, most confident first")
    def api_findings(kind: str | None = Query(None, description="one of " + ", ".join(KINDS)),
                     limit: int = Query(100, ge=1, le=MAX_LIMIT), offset: int = Query(0, ge=0, le=BIGINT_MAX),
                     model_version: str | None = Query(None, description="'champion' (default), 'all' or a version")
                     ) -> dict:
        return findings(kind, limit, offset, model_version)

    @app.get("/api/predictions/{log_id}", summary="A log with its predictions and findings")
    def api_predictions(log_id: int = PathParam(ge=1, le=BIGINT_MAX)) -> dict:
        params = {"log_id": log_id}
        with session() as conn:
            found = rows(conn, "report/log", params)
            if not found:
                raise HTTPException(status_code=404, detail=f"log {log_id} not found")
            champion = scope_version(conn, "champion")
            preds = rows(conn, "report/log_predictions", params)
            finds = rows(conn, "report/log_findings", params)
        return {"log": found[0], "champion": champion, "predictions": preds, "findings": finds}

    def check_group_filters(kind, status, sort) -> None:
        check_kind(kind)
        if status not in (None, "", *GROUP_STATUSES):
            raise HTTPException(status_code=422, detail=f"status must be one of {', '.join(GROUP_STATUSES)}")
        if sort not in GROUP_SORTS:
            raise HTTPException(status_code=422, detail=f"sort must be one of {', '.join(GROUP_SORTS)}")

    def groups(filters: dict, limit: int, offset: int, sort: str, model_version: str | None) -> dict:
        check_group_filters(filters.get("kind"), filters.get("status"), sort)
        with session() as conn:
            version = scope_version(conn, model_version)
            found = query_groups(conn, model_version=version, limit=limit, offset=offset, sort=sort, **filters)
        total = int(found[0]["total_groups"]) if found else 0
        return {"model_version": version, "filters": filters, "sort": sort, "limit": limit, "offset": offset,
                "total": total, "count": len(found), "groups": found}

    def group_detail(group_id: str, limit: int, offset: int, model_version: str | None) -> dict:
        if not GROUP_ID.match(group_id):
            raise HTTPException(status_code=422, detail="a group id is 12 hexadecimal digits")
        with session() as conn:
            version = scope_version(conn, model_version)
            found = query_groups(conn, model_version=version, group_id=group_id)
            if not found:
                raise HTTPException(status_code=404, detail=f"no finding group {group_id}")
            lines = rows(conn, "findings/group_lines", {"group_id": group_id, "model_version": version,
                                                        "limit": limit, "offset": offset})
        return {"model_version": version, "group": found[0], "limit": limit, "offset": offset,
                "count": len(lines), "lines": lines}

    def group_filters(kind: str | None = Query(None, description="one of " + ", ".join(KINDS)),
                      service: str | None = Query(None, max_length=200),
                      level: str | None = Query(None, max_length=20, description="recorded or suggested level"),
                      status: str | None = Query(None, description="open, confirmed, dismissed or mixed"),
                      since: str | None = Query(None, max_length=40, description="lines at or after (ISO 8601)"),
                      until: str | None = Query(None, max_length=40, description="lines before (ISO 8601)"),
                      text: str | None = Query(None, max_length=200, description="in the template or a message")
                      ) -> dict:
        return {"kind": kind or None, "service": service or None, "level": level or None, "status": status or None,
                "since": parse_time("since", since), "until": parse_time("until", until), "text": text or None}

    @app.get("/api/groups", summary="Findings grouped by what a person would fix, filtered, sorted and paged")
    def api_groups(filters: dict = Depends(group_filters),
                   sort: str = Query("impact", description="impact (lines), confidence or recent"),
                   limit: int = Query(100, ge=1, le=MAX_LIMIT), offset: int = Query(0, ge=0, le=BIGINT_MAX),
                   model_version: str | None = Query(None, description="'champion' (default), 'all' or a version")
                   ) -> dict:
        return groups(filters, limit, offset, sort, model_version)

    @app.get("/api/groups/{group_id}", summary="One finding group and its lines (source file and line, predictions)")
    def api_group(group_id: str, limit: int = Query(200, ge=1, le=MAX_LIMIT),
                  offset: int = Query(0, ge=0, le=BIGINT_MAX), model_version: str | None = None) -> dict:
        return group_detail(group_id, limit, offset, model_version)

    class TriageRequest(BaseModel):
        target: str = Field(min_length=1, max_length=40, description="a group id (12 hex) or a finding id")
        decision: str = Field(pattern="^(confirmed|dismissed|open)$")
        note: str | None = Field(None, max_length=2000)

    def may_edit(user: Any) -> bool:
        """Editing findings needs what editing DAGs needs (Simple auth manager: USER or above)."""
        if not auth_enabled():
            return True
        from airflow.api_fastapi.app import get_auth_manager

        return bool(user) and get_auth_manager().is_authorized_dag(method="PUT", user=user)

    def same_origin(request: Request) -> bool:
        origin = request.headers.get("origin")
        return not origin or origin.rstrip("/") == f"{request.url.scheme}://{request.url.netloc}"

    def apply_decision(request: Request, user: Any, target: str, decision: str, note: str | None) -> dict:
        """The one triage write path (JSON API and HTML form): origin, role, then the decision."""
        from logintel.triage import decide

        if not same_origin(request):
            raise HTTPException(status_code=403, detail="cross-site request refused")
        if not may_edit(user):
            raise HTTPException(status_code=403, detail="your role may look at findings, not change them")
        by = getattr(user, "username", None) or (user.get_name() if user else "local")
        try:
            return decide(database(), target, decision, by, note or None)
        except ValueError as exc:
            raise HTTPException(status_code=404 if "no finding" in str(exc) else 422, detail=str(exc)) from None

    def csrf_token(request: Request) -> str:
        """Bound to the caller's Airflow session token, which a cross-site page cannot read."""
        import hashlib
        import hmac

        auth = request.headers.get("authorization", "")
        secret = request.cookies.get("_token") or auth.removeprefix("Bearer ").strip() or "local"
        return hmac.new(secret.encode(), b"logintel-triage-form", hashlib.sha256).hexdigest()

    @app.post("/api/triage", summary="Confirm or dismiss a finding group or a finding")
    def api_triage(body: TriageRequest, request: Request, user: Any = Depends(require_user)) -> dict:
        if not request.headers.get("content-type", "").lower().startswith("application/json"):
            raise HTTPException(status_code=415, detail="send the decision as application/json")
        return apply_decision(request, user, body.target, body.decision, body.note)

    @app.post("/triage", summary="The Airflow view's triage form (form-encoded, with its CSRF token)")
    def form_triage(request: Request, target: str = Form(..., max_length=40),
                    decision: str = Form(..., pattern="^(confirmed|dismissed|open)$"),
                    note: str | None = Form(None, max_length=2000), csrf: str = Form(""),
                    back: str = Form("list"), user: Any = Depends(require_user)) -> RedirectResponse:
        import hmac

        if not may_edit(user):  # said first, so a viewer learns why (no token could help)
            raise HTTPException(status_code=403, detail="your role may look at findings, not change them")
        if not hmac.compare_digest(csrf, csrf_token(request)):
            raise HTTPException(status_code=403, detail="the form is stale or from another site: reload the page")
        apply_decision(request, user, target, decision, note)
        # back to where the form was: the group's page, or the list (relative: works under any prefix)
        location = f"groups/{target}" if back == "group" and GROUP_ID.match(target) else "./?status=open"
        return RedirectResponse(location, status_code=303)

    def page(template: str, **context) -> HTMLResponse:
        html = env.get_template(template).render(**context)
        return HTMLResponse(html, headers={"Content-Security-Policy": PAGE_CSP, **SECURITY_HEADERS})

    @app.get("/", response_class=HTMLResponse, summary="Findings page: groups (filtered, paged), then single findings")
    def findings_page(request: Request, filters: dict = Depends(group_filters), sort: str = "impact",
                      page_no: int = Query(1, alias="page", ge=1, le=100_000),
                      limit: int = Query(100, ge=1, le=MAX_LIMIT), model_version: str | None = None,
                      user: Any = Depends(require_user)) -> HTMLResponse:
        found = groups(filters, GROUPS_PER_PAGE, (page_no - 1) * GROUPS_PER_PAGE, sort, model_version)
        data = findings(filters["kind"], limit, 0, model_version)
        query = {k: v for k, v in {**filters, "sort": sort, "model_version": model_version}.items()
                 if v not in (None, "") and not (k == "sort" and v == "impact")}
        return page("findings.html.j2", **data, groups=found, filters=filters, sort=sort, sorts=GROUP_SORTS,
                    statuses=GROUP_STATUSES, page=page_no, pages=max(1, -(-found["total"] // GROUPS_PER_PAGE)),
                    query=query, kinds=KINDS, has_report=report_path().is_file(),
                    has_data_docs=(data_docs_root() / "index.html").is_file(), csrf=csrf_token(request),
                    can_edit=may_edit(user), database=mask_url(database()), selected_model=model_version or "champion",
                    coverage=scoring_coverage(), settings=get_settings(), drift=drifted_services())

    @app.get("/groups/{group_id}", response_class=HTMLResponse, summary="A finding group's page: its lines, triage")
    def group_page(group_id: str, request: Request, limit: int = Query(200, ge=1, le=MAX_LIMIT),
                   model_version: str | None = None, user: Any = Depends(require_user)) -> HTMLResponse:
        detail = group_detail(group_id, limit, 0, model_version)
        return page("group.html.j2", **detail, csrf=csrf_token(request), can_edit=may_edit(user),
                    selected_model=model_version or "champion")

    return app


app = LazyASGIApp(create_app)


class LogintelPlugin(AirflowPlugin):
    name = "logintel"
    fastapi_apps = [{"app": app, "url_prefix": URL_PREFIX, "name": "Logintel findings"}]
    # url_route set: shown inside the Airflow UI (iframe at /plugin/<url_route>). href has no
    # leading slash: the UI resolves it against its <base href>, so a base_url subpath works too.
    external_views = [
        {"name": "Logintel findings", "href": "logintel/", "url_route": "logintel",
         "destination": "nav", "category": "browse"},
        {"name": "Logintel report", "href": "logintel/report", "url_route": "logintel-report",
         "destination": "nav", "category": "browse"},
    ]
