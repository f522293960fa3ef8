"""The desk's routes: inbox, item, raw capture, actions (single and bulk), export, dashboard, login."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from monitor.web import actions, charts, exporting, queries, security
from monitor.web.filters import FilterError, InboxFilter, parse_filter, parse_ids
from storage.capture_models import CaptureRow
from storage.models import ArticleRow

desk = Blueprint("desk", __name__)

DASHBOARD_DAYS = 14
MAX_DASHBOARD_DAYS = 366


def db() -> Session:
    """This request's database session (closed at teardown): a reader for GET, a writer for POST."""
    if "db" not in g:
        kind = "MONITOR_READ_SESSIONS" if request.method in security.SAFE_METHODS else "MONITOR_SESSIONS"
        g.db = current_app.config[kind]()
    session_: Session = g.db
    return session_


def _filter() -> InboxFilter:
    """The inbox filter of this request; 400 naming the bad parameter."""
    try:
        return parse_filter(request.args)
    except FilterError as exc:
        abort(400, description=str(exc))


@desk.get("/")
def inbox() -> ResponseReturnValue:
    """New items newest first, filtered, paged, counted."""
    flt = _filter()
    page = queries.inbox(db(), flt)
    first = (flt.page - 1) * flt.per_page + 1
    return render_template(
        "inbox.html",
        flt=flt,
        page=page,
        first=first,
        last=first + len(page.rows) - 1,
        pages=max(1, math.ceil(page.total / flt.per_page)),
        choices=queries.filter_choices(db()),
    )


def _article(article_id: int) -> ArticleRow:
    """The article or 404."""
    article = db().get(ArticleRow, article_id)
    if article is None:
        abort(404, description=f"no article with id {article_id}")
    return article


@desk.get("/items/<int:article_id>")
def item(article_id: int) -> ResponseReturnValue:
    """One item with its attribution, story cluster, revisions, alerts and captures."""
    article = _article(article_id)
    paragraphs = [p for p in (article.text or "").split("\n") if p.strip()]
    ctx = queries.item_context(db(), article)
    return render_template("item.html", a=article, ctx=ctx, paragraphs=paragraphs)


@desk.get("/items/<int:article_id>/captures/<int:capture_id>")
def capture(article_id: int, capture_id: int) -> ResponseReturnValue:
    """A raw capture as inert, escaped text in a <pre> (never as HTML)."""
    _article(article_id)
    found = [c for c in queries.captures_of(db(), article_id) if c.id == capture_id]
    if not found:
        abort(404, description=f"article {article_id} has no capture {capture_id}")
    row: CaptureRow = found[0]
    encoding, body = exporting.capture_text(row)
    return render_template("capture.html", capture=row, article_id=article_id, body=body, encoding=encoding)


def _back(default: str) -> ResponseReturnValue:
    """Redirect to the form's `next` path (same site only) or a default."""
    target = request.form.get("next")
    return redirect(security.safe_next(target) if target else default)


def _run_action(ids: tuple[int, ...]) -> None:
    """Apply the posted action to articles and flash what happened."""
    try:
        wanted = actions.parse_action(request.form)
    except actions.ActionError as exc:
        abort(400, description=str(exc))
    result = actions.apply(db(), ids, wanted, actor=g.user)
    if result.done:
        flash(f"{wanted.verb} {len(result.done)} item(s).", "ok")
    for article_id, reason in result.refused:
        flash(f"item {article_id}: {reason}", "error")


@desk.post("/items/<int:article_id>/actions")
def item_action(article_id: int) -> ResponseReturnValue:
    """Select, reject, prioritise, assign or annotate one item."""
    _article(article_id)
    _run_action((article_id,))
    return redirect(url_for("desk.item", article_id=article_id))


@desk.post("/actions")
def bulk_action() -> ResponseReturnValue:
    """The inbox's bulk form: an action on the ticked items, or an export of them."""
    try:
        ids = parse_ids(request.form)
    except FilterError as exc:
        abort(400, description=str(exc))
    action = request.form.get("action", "")
    if action.startswith("export-"):
        return _export(action.removeprefix("export-"), ids)
    if not ids:
        flash("Tick at least one item first.", "error")
        return _back(url_for("desk.inbox"))
    _run_action(ids)
    return _back(url_for("desk.inbox"))


def _export(fmt: str, ids: tuple[int, ...]) -> Response:
    """A download of the given articles as JSONL or XLIFF."""
    if fmt not in exporting.FORMATS:
        abort(400, description=f"format={fmt!r}: expected one of {', '.join(exporting.FORMATS)}")
    if not ids:
        abort(400, description="nothing to export: tick items or use the export link of the filtered view")
    return exporting.download(db(), fmt, ids)


@desk.get("/export.<fmt>")
def export(fmt: str) -> ResponseReturnValue:
    """Export the filtered view (every page, up to the export limit) or the given `id`s."""
    flt = _filter()
    ids = flt.ids or tuple(queries.matching_ids(db(), flt, exporting.MAX_EXPORT))
    return _export(fmt, ids)


@desk.get("/dashboard")
def dashboard() -> ResponseReturnValue:
    """Articles per day per source and language, alerts per watch, feed health."""
    raw = request.args.get("days", str(DASHBOARD_DAYS))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_DASHBOARD_DAYS:
        abort(400, description=f"days={raw!r}: expected a whole number from 1 to {MAX_DASHBOARD_DAYS}")
    days = int(raw)
    today = datetime.now(UTC).date()
    # Article charts end today, or on the newest article's day when nothing newer is stored (an archive, the demo).
    until = min(today, queries.newest_day(db()) or date.max)
    since, alerts_since = until - timedelta(days=days - 1), today - timedelta(days=days - 1)
    health = queries.health_rows(db())
    return render_template(
        "dashboard.html",
        days=days,
        max_days=MAX_DASHBOARD_DAYS,
        by_source=charts.stacked_days(queries.per_day(db(), "source", since, until), since, until),
        by_language=charts.stacked_days(queries.per_day(db(), "language", since, until), since, until),
        watch_bars=charts.hbars(
            queries.alerts_per_watch(db(), datetime.combine(alerts_since, datetime.min.time(), UTC))
        ),
        health=health,
    )


@desk.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """The token login form (basic auth is handled by the browser)."""
    auth: security.AuthSettings = current_app.config["MONITOR_AUTH"]
    target = security.safe_next(request.values.get("next"))
    if not auth.token:
        return redirect(target)
    if request.method == "POST":
        if security.token_matches(auth, request.form.get("token", "")):
            session.clear()
            session["authed"] = True
            return redirect(target)
        flash("Wrong token.", "error")
    return render_template("login.html", next=target), 200 if request.method == "GET" else 403


@desk.post("/logout")
def logout() -> ResponseReturnValue:
    """Forget this browser's login."""
    session.clear()
    return redirect(url_for("desk.login"))
