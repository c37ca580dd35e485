"""The FastAPI app: wires the store, the ingest, the live hub and the routes."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from starlette.middleware.sessions import SessionMiddleware

from dashboard.analytics import ReportTooLargeError
from dashboard.ingest import Ingest
from dashboard.live import LiveHub
from dashboard.logins import LoginGuard
from dashboard.push import WebPush, public_key, vapid_key
from dashboard.saved_goals import GoalsCache
from dashboard.settings import DashboardConfig
from dashboard.store.database import open_engine, require_migrated
from dashboard.web import access, api, pages, reports, settings_pages, staff
from dashboard.web.headers import SecurityHeaders
from dashboard.web.metrics import IngestCollector, metrics_route
from dashboard.web.render import install_filters

HERE = Path(__file__).resolve().parent.parent
log = logging.getLogger("greetcue.dashboard")


def session_secret(settings: DashboardConfig) -> str:
    """The session signing key: from the environment, else made once in the state folder."""
    if value := os.environ.get(settings.security.secret_env):
        return value
    path = settings.folder() / "dashboard-session.key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def create_app(
    settings: DashboardConfig,
    engine: Engine | None = None,
    ingest: bool = True,
    config_hint: str = "",
) -> FastAPI:
    """The dashboard app; ``ingest=False`` serves the store without a broker (tests, bench)."""
    if settings.listen.tls:  # served over HTTPS: every cookie is Secure
        secure = settings.security.model_copy(update={"secure_cookies": True})
        settings = settings.model_copy(update={"security": secure})
    engine = engine or open_engine(settings.database_url())
    require_migrated(engine, config_hint)
    hub = LiveHub()
    if settings.push.enabled:
        vapid = vapid_key(settings.folder())
        hub.pusher = WebPush(engine, vapid, settings.push.contact)
    feeder = Ingest.from_settings(settings, engine, hub) if ingest else None
    mails = None
    if settings.reports.enabled:
        from dashboard.reports.schedule import ReportScheduler

        mails = ReportScheduler.from_settings(settings, engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.loop = asyncio.get_running_loop()
        if feeder:
            feeder.start()
        if mails:
            mails.start()
        yield
        if mails:
            mails.stop()
        if feeder:
            feeder.stop()
        if isinstance(hub.pusher, WebPush):
            hub.pusher.close()

    app = FastAPI(
        title="greetcue dashboard",
        description="Acknowledgement figures, live overview and staff cues. Every route needs "
        "a manager session or an API token (Authorization: Bearer), except the login, "
        "/healthz, /metrics and staff pages (their device key).",
        version="1",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings, app.state.engine, app.state.hub = settings, engine, hub
    app.state.push_key = public_key(vapid) if settings.push.enabled else None
    app.state.ingest = feeder
    app.state.goals = GoalsCache(settings)  # the goals in force: dashboard/web/goals_in_force.py
    templates = Jinja2Templates(directory=HERE / "templates")
    install_filters(templates, settings)
    app.state.templates = templates
    security = settings.security
    app.state.logins = LoginGuard.from_settings(security)
    app.state.secret = session_secret(settings)
    app.add_middleware(
        SessionMiddleware,
        secret_key=app.state.secret,
        session_cookie="greetcue_session",
        max_age=int(settings.security.session_hours * 3600),
        same_site="lax",
        https_only=settings.security.secure_cookies,
    )
    app.add_middleware(SecurityHeaders, hsts_s=settings.listen.hsts_s)
    app.add_exception_handler(access.LoginRequiredError, access.on_need_login)
    app.add_exception_handler(access.ForbiddenError, access.on_forbidden)  # type: ignore[arg-type]
    app.add_exception_handler(ReportTooLargeError, access.on_report_too_large)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(pages.router)
    app.include_router(api.router)
    app.include_router(staff.router)
    app.include_router(settings_pages.router)
    app.include_router(reports.router)
    metrics_route(app, IngestCollector(app))

    @app.get("/openapi.json", include_in_schema=False)
    def openapi(_who: access.Manager) -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request, who: access.Manager) -> Response:
        """The API reference, rendered from the OpenAPI document (no external scripts)."""
        context = {"spec": app.openapi(), "user": who.name, "nav": "/docs"}
        context["csrf"] = access.csrf_token(request)
        page: Response = templates.TemplateResponse(request, "api_docs.html", context)
        return page

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        """200 while the database answers and the ingest writer stores (503 says which
        fails); says whether the broker is connected."""
        problem = feeder.problem if feeder else None
        if problem:
            return JSONResponse({"ok": False, "ingest": problem}, 503)
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            return JSONResponse({"ok": False, "database": str(exc.__class__.__name__)}, 503)
        broker = feeder.stats.connected if feeder else None
        return JSONResponse({"ok": True, "database": "ok", "broker_connected": broker})

    return app
