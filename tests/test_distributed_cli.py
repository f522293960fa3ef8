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
