"""Stale-source alerts of `monitor run --stale-alert`: once per stale episode, through a real local webhook,
retried after a failed delivery."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.scheduling import stale as stale_module
from monitor.scheduling.stale import StaleAlerts, newly_stale
from storage.models import utcnow
from storage.queries import FeedHealth
from storage.store import Store
from tests.test_store_backends import FakeSource


def row(url: str, stale: bool | None) -> FeedHealth:
    return FeedHealth(
        "levant", url, None, utcnow(), None, None, None, None, 0, {}, rhythm_seconds=3600.0, stale=stale
    )


def test_newly_stale_forgets_recovered_feeds() -> None:
    rows = [row("https://a/rss", True), row("https://b/rss", False), row("https://c/rss", None)]
    fresh, now_stale = newly_stale(rows, announced={"https://a/rss", "https://b/rss"})
    assert fresh == [] and now_stale == {"https://a/rss"}
    fresh, _ = newly_stale([row("https://b/rss", True)], announced=now_stale)
    assert [r.feed_url for r in fresh] == ["https://b/rss"]  # b recovered and went stale again


def test_stale_feeds_are_announced_once_and_retried_after_a_failure(
    httpserver: HTTPServer, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [row("https://levant.example/rss", True), row("https://pars.example/rss", False)]
    monkeypatch.setattr(stale_module, "feed_health", lambda session: rows)
    received: list[dict[str, Any]] = []
    answers = iter([503, 200])

    def handler(request: Request) -> Response:
        status = next(answers)
        if status == 200:
            received.append(json.loads(request.get_data()))
        return Response("", status=status)

    httpserver.expect_request("/hook", method="POST").respond_with_handler(handler)
    alerts = StaleAlerts([f"webhook:{httpserver.url_for('/hook')}"], env={})
    store = synced_store(sqlite_url)
    assert alerts.check(store) == 1 and received == []  # the receiver failed: not marked announced
    assert alerts.check(store) == 1 and len(received) == 1  # tried again after the next cycle
    assert "https://levant.example/rss" in json.dumps(received[0])
    assert alerts.check(store) == 0  # announced once per stale episode
    store.engine.dispose()


def test_a_restarted_scheduler_does_not_announce_a_feed_again(
    httpserver: HTTPServer, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [row("https://levant.example/rss", True), row("https://pars.example/rss", False)]
    monkeypatch.setattr(stale_module, "feed_health", lambda session: rows)
    httpserver.expect_request("/hook", method="POST").respond_with_data("")
    channel = f"webhook:{httpserver.url_for('/hook')}"
    store = synced_store(sqlite_url)
    assert StaleAlerts([channel], env={}).check(store) == 1
    assert StaleAlerts([channel], env={}).check(store) == 0  # a new process reads what was announced
    assert store.stale_announced() == {"https://levant.example/rss"}
    rows[0] = row("https://levant.example/rss", False)  # recovered: forgotten, so the next episode is new
    assert StaleAlerts([channel], env={}).check(store) == 0 and store.stale_announced() == set()
    rows[0] = row("https://levant.example/rss", True)
    assert StaleAlerts([channel], env={}).check(store) == 1
    assert len(httpserver.log) == 2
    store.engine.dispose()


def synced_store(url: str) -> Store:
    """A store holding the two feeds the tests' health rows name."""
    store = Store.from_url(url)
    store.sync_sources(
        [
            FakeSource(id="levant", feeds=["https://levant.example/rss"]),
            FakeSource(id="pars", feeds=["https://pars.example/rss"]),
        ]
    )
    return store


def test_run_refuses_a_bad_stale_channel(tmp_path: Any) -> None:
    from click.testing import CliRunner

    from monitor.cli import cli

    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n  - {id: a, name: A, language: en, feeds: ['http://127.0.0.1:9/a.xml']}\n")
    result = CliRunner().invoke(cli, ["run", "--once", "--sources", str(path), "--stale-alert", "pager:x"])
    assert result.exit_code != 0 and "--stale-alert" in result.output and "unknown channel" in result.output
