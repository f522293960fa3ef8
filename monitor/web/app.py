"""The review desk's Flask application: `create_app(database_url, ...)`.

Settings (passed in by `monitor serve`, which reads them from the environment):
- ``auth_token`` (``MONITOR_WEB_TOKEN``): a shared token; log in through /login or send ``Authorization: Bearer``.
- ``basic_auth`` (``MONITOR_WEB_BASIC_AUTH=user:password``): HTTP basic credentials.
Without either, anyone who can reach the port can use the desk (fine on 127.0.0.1 only).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from flask import Flask, Response, g, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from monitor.alerts.channels import redact_channel
from monitor.web import actions, security
from monitor.web.search import excerpt
from monitor.web.security import AuthSettings, parse_basic_auth
from monitor.web.views import desk
from storage import db as db_module
from storage.db import make_engine, make_sessionmaker
from storage.search import ensure_fulltext

# Form posts are small; anything bigger is refused before it is parsed.
MAX_REQUEST_BYTES = 1024 * 1024
# Endpoints reachable without logging in (the login form itself and its stylesheet/script).
PUBLIC_ENDPOINTS = frozenset({"desk.login", "static"})


def _auth_settings(auth_token: str | None, basic_auth: str | tuple[str, str] | None) -> AuthSettings:
    """AuthSettings from the factory arguments (`user:password` or a pair)."""
    if isinstance(basic_auth, str):
        basic_auth = parse_basic_auth(basic_auth)
    user, password = basic_auth if basic_auth else (None, None)
    return AuthSettings(token=auth_token or None, basic_user=user, basic_password=password)


def _sqlite_deferred_begin(conn: Any) -> None:
    """A plain (deferred) BEGIN: under WAL a reader sees a snapshot and never holds the write lock."""
    conn.exec_driver_sql("BEGIN")


def read_engine(database_url: str) -> Engine:
    """An engine for page views: on SQLite its transactions start deferred, not IMMEDIATE.

    `storage.db` begins every SQLite transaction IMMEDIATE (right for read-then-write); a page view or a long
    streamed export holding the write lock would stall the crawler, so reads get their own engine.
    """
    engine = make_engine(database_url)
    if engine.dialect.name == "sqlite" and event.contains(engine, "begin", db_module._sqlite_begin):
        event.remove(engine, "begin", db_module._sqlite_begin)
        event.listen(engine, "begin", _sqlite_deferred_begin)
    return engine


def format_datetime(value: datetime | None) -> str:
    """`2024-11-17 14:05 +03:00`: minutes, with the value's own offset (outlet time or UTC)."""
    if value is None:
        return ""
    offset = value.strftime("%z")
    offset = f"{offset[:3]}:{offset[3:]}" if offset else ""
    return f"{value:%Y-%m-%d %H:%M} {offset}".strip()


def _register_template_helpers(app: Flask) -> None:
    """Filters and globals the templates use."""
    app.jinja_env.filters.update(
        safe_href=security.safe_href,
        text_dir=security.text_dir,
        lang_attr=security.lang_attr,
        datetime=format_datetime,
        redact=redact_channel,
    )
    app.jinja_env.globals.update(csrf_token=security.csrf_token, excerpt=excerpt)


def _error_page(exc: HTTPException) -> ResponseReturnValue:
    """HTML error pages (the description is escaped like everything else)."""
    return render_template(
        "error.html", code=exc.code, name=exc.name, description=exc.description
    ), exc.code or 500


def _guard(app: Flask) -> None:
    """Log in, then CSRF-check, every request; open and close a database session per request."""
    auth: AuthSettings = app.config["MONITOR_AUTH"]

    @app.before_request
    def _before() -> ResponseReturnValue | None:
        g.user = security.authenticated_user(auth)
        if g.user is None and request.endpoint not in PUBLIC_ENDPOINTS:
            return security.unauthorized(auth)
        security.check_csrf()
        return None

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.update(security.SECURITY_HEADERS)
        return response

    @app.teardown_request
    def _close(_exc: BaseException | None) -> None:
        session: Session | None = g.pop("db", None)
        if session is not None:
            session.close()


def create_app(
    database_url: str,
    *,
    auth_token: str | None = None,
    basic_auth: str | tuple[str, str] | None = None,
    testing: bool = False,
) -> Flask:
    """The desk application on a database (full-text index created if missing)."""
    app = Flask(__name__)
    engine = make_engine(database_url)
    ensure_fulltext(engine)
    reader = read_engine(database_url)
    app.config.update(
        SECRET_KEY=secrets.token_bytes(32),
        TESTING=testing,
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
        SESSION_COOKIE_NAME="monitor_desk",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        MONITOR_AUTH=_auth_settings(auth_token, basic_auth),
        MONITOR_ENGINE=engine,
        MONITOR_SESSIONS=make_sessionmaker(engine),
        MONITOR_READ_SESSIONS=make_sessionmaker(reader),
    )
    _register_template_helpers(app)
    _guard(app)
    app.register_blueprint(desk)
    app.register_error_handler(HTTPException, _error_page)

    @app.context_processor
    def _context() -> dict[str, Any]:
        return {
            "login_enabled": app.config["MONITOR_AUTH"].enabled,
            "priorities": actions.PRIORITIES,
        }

    return app
