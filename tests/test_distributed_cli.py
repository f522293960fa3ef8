"""The distributed mode's command line: clear errors before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(
        "sources:\n  - {id: alpha, name: Alpha, language: en, feeds: ['http://127.0.0.1:9/a.xml']}\n"
    )
    return path


def test_distributed_crawl_without_redis_says_how_to_configure_it(
    sources: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MONITOR_REDIS_URL", raising=False)
    result = CliRunner().invoke(cli, ["crawl", "--distributed", "--sources", str(sources)])
    assert result.exit_code != 0
    assert "pass --redis URL or set MONITOR_REDIS_URL" in result.output


def test_worker_refuses_a_url_that_is_not_redis(sources: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_REDIS_URL", "http://queue.example:6379")
    result = CliRunner().invoke(cli, ["worker", "--sources", str(sources)])
    assert result.exit_code != 0 and "MONITOR_REDIS_URL" in result.output and "redis://" in result.output


@pytest.mark.redis
def test_distributed_crawl_reports_what_it_queued(
    sources: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import redis

    monkeypatch.setenv("MONITOR_REDIS_PREFIX", "test-cli-queue")
    result = CliRunner().invoke(
        cli, ["crawl", "--distributed", "--redis", redis_url, "--sources", str(sources)]
    )
    client = redis.Redis.from_url(redis_url)
    try:
        assert result.exit_code == 0, result.output
        assert "queued 1 feeds" in result.output
        assert client.zcard("test-cli-queue:feeds_redis:requests") == 1
    finally:
        client.delete("test-cli-queue:feeds_redis:requests")
        client.close()


@pytest.mark.redis
def test_distributed_scheduler_queues_due_urls_once(
    tmp_path: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import redis

    from monitor.scheduling.runner import RunOptions, Scheduler
    from storage.models import utcnow
    from storage.store import Store

    path = tmp_path / "sources.yaml"
    path.write_text(
        "sources:\n  - {id: alpha, name: Alpha, language: en, feeds: ['http://127.0.0.1:9/a.xml'],"
        " sitemaps: ['http://127.0.0.1:9/news.xml']}\n"
        "  - {id: beta, name: Beta, language: en, feeds: ['http://127.0.0.1:9/b.xml'], poll: {disabled: true}}\n"
    )
    db = f"sqlite:///{tmp_path / 'm.db'}"
    key = "test-run-queue:feeds_redis:requests"
    options = RunOptions(db, str(path), once=True, redis_url=redis_url, redis_prefix="test-run-queue")
    scheduler, store = Scheduler(options), Store.from_url(db)
    client = redis.Redis.from_url(redis_url)
    try:
        assert scheduler.run() == 0
        assert client.zcard(key) == 2  # alpha's feed and sitemap; beta's polling is disabled
        assert scheduler.enqueue(store, utcnow()) == 0  # still waiting for a worker: not queued again
        assert client.zcard(key) == 2
    finally:
        client.delete(key)
        client.close()
        store.engine.dispose()
