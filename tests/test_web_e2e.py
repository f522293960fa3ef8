"""The review desk in a real headless Chromium (Debian's `chromium`, driven by Playwright; no browser download).

The app runs on 127.0.0.1 in a thread. The test opens the inbox, filters it, opens an Arabic item and checks it
renders right to left, selects it for translation with the `s` key, and checks the database; then it does the
same from the inbox with `j` + `s`, and checks that the XSS article raises no dialog and the CSP reports nothing.
Skipped with the reason when Chromium or Playwright is missing, unless MONITOR_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from monitor.web.app import create_app
from storage.db import make_engine, make_sessionmaker
from storage.models import ArticleRow
from storage.workflow_models import WorkflowEvent, WorkflowRow
from tests.test_web import Seeded, seed

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REQUIRE = os.environ.get("MONITOR_REQUIRE_SERVICES") == "1"


def _skip_or_fail(reason: str) -> None:
    """Skip, or fail under MONITOR_REQUIRE_SERVICES=1."""
    if REQUIRE:
        pytest.fail(f"MONITOR_REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless Debian Chromium through Playwright."""
    if not CHROMIUM.exists():
        _skip_or_fail(f"{CHROMIUM} not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _skip_or_fail(
            "playwright not installed in the venv (pip install playwright; never `playwright install`)"
        )
    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def desk(sqlite_url: str) -> Iterator[tuple[str, str, Seeded]]:
    """(base URL, database URL, seeded ids) of the desk served on 127.0.0.1 in a thread."""
    ids = seed(sqlite_url)
    server = make_server("127.0.0.1", 0, create_app(sqlite_url), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", sqlite_url, ids
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def _status(db_url: str, article_id: int) -> tuple[str | None, list[tuple[str, str]]]:
    """The story status of an article and its audit trail as (from, to) pairs."""
    engine = make_engine(db_url)
    with make_sessionmaker(engine)() as session:
        article = session.get_one(ArticleRow, article_id)
        key = f"cluster:{article.cluster_id}" if article.cluster_id else f"article:{article.id}"
        row = session.scalar(select(WorkflowRow).where(WorkflowRow.story_key == key))
        events = session.scalars(
            select(WorkflowEvent)
            .where(WorkflowEvent.workflow_id == (row.id if row else -1))
            .order_by(WorkflowEvent.id)
        )
        found = (row.status if row else None, [(e.from_status, e.to_status) for e in events])
    engine.dispose()
    return found


def test_review_in_chromium(browser: Any, desk: tuple[str, str, Seeded]) -> None:
    base, db_url, ids = desk
    page = browser.new_page()
    page.set_default_timeout(15_000)
    problems: list[str] = []
    page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)

    page.goto(f"{base}/")
    assert page.locator("table.inbox tr.item").count() == 17

    page.select_option("select[name=language]", "ar")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/?*language=ar*")
    assert page.locator("table.inbox tr.item").count() == 2
    assert page.inner_text("#total") == "2"

    page.click(f'tr[data-id="{ids.arabic}"] td.title a')
    page.wait_for_url(f"**/items/{ids.arabic}")
    article = page.locator("article.article")
    assert article.get_attribute("dir") == "rtl" and article.get_attribute("lang") == "ar"
    assert page.eval_on_selector("#body", "el => getComputedStyle(el).direction") == "rtl"
    assert page.eval_on_selector("header.top", "el => getComputedStyle(el).direction") == "ltr"

    page.keyboard.press("s")
    page.wait_for_load_state("load")
    page.wait_for_selector("#status .status-selected")
    assert _status(db_url, ids.arabic) == ("selected", [("new", "selected")])

    page.goto(f"{base}/?language=he")
    page.keyboard.press("j")
    assert page.get_attribute("tr.item.current", "data-id") == str(ids.hebrew)
    page.keyboard.press("s")
    page.wait_for_selector("p.flash.ok")
    assert _status(db_url, ids.hebrew) == ("selected", [("new", "selected")])

    page.goto(f"{base}/items/{ids.xss}")
    assert "Headline" in page.inner_text("#title")
    assert page.locator("a.original").count() == 0
    assert problems == []
