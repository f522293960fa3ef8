"""Distributed crawling end to end: worker processes on one Redis and one PostgreSQL, against the mock outlets.

Every article of the sample outlets must be stored exactly once when two workers share the work, when one is
killed with SIGKILL mid-request, when Redis is killed and restarted mid-crawl, and when PostgreSQL drops every
connection mid-crawl. Leases are 3 s here so a dead worker's requests come back quickly.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import yaml
from scrapy.dupefilters import BaseDupeFilter
from sqlalchemy import create_engine, select, text

from monitor.config import load_sources
from monitor.demo import EXPECTED, demo_sources
from monitor.demo.server import Reply
from monitor.distributed import queue_key
from monitor.distributed.producer import enqueue_feeds
from storage.models import ArticleRow
from storage.queries import feed_urls
from storage.store import Store
from tests.conftest import REPO, REQUIRE_SERVICES
from tests.mockserver import MockServer

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres]

LEASE_SECONDS = 3
WORKER_SETTINGS = {
    "MONITOR_LEASE_SECONDS": str(LEASE_SECONDS),
    "MONITOR_RETRY_LATER": "1",
    "MONITOR_DB_RETRY_DELAY": "0.5",
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "False",
    # Two at a time per worker: a worker takes from the queue only what it can fetch now, the rest is shared.
    "CONCURRENT_REQUESTS": "2",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "2",
    "DOWNLOAD_TIMEOUT": "10",
}
ARTICLES = {
    path for path, gold in json.loads(EXPECTED.read_text(encoding="utf-8")).items() if gold["is_article"]
}


class NeverSeen(BaseDupeFilter):
    """A seen-set that remembers nothing (the workers import it from here): only the database deduplicates."""

    @classmethod
    def from_spider(cls, spider: object) -> NeverSeen:
        """What scrapy-redis' scheduler calls."""
        return cls()


class SlowOutlets(MockServer):
    """The sample outlets with slow article pages, so a kill or a restart lands while requests are in flight."""

    page_delay = 0.5

    def respond(self, method: str, raw_path: str, headers: Mapping[str, str]) -> Reply:
        """Wait `page_delay` before every HTML page."""
        if raw_path.split("?")[0].endswith(".html"):
            self._stopping.wait(self.page_delay)
        return super().respond(method, raw_path, headers)


@pytest.fixture(scope="module")
def server() -> Iterator[SlowOutlets]:
    with SlowOutlets() as srv:
        yield srv


@dataclass
class Job:
    """One distributed crawl under test: its database, Redis, key prefix and sources file."""

    db: str
    redis_url: str
    prefix: str
    sources: Path
    folder: Path

    def env(self) -> dict[str, str]:
        return {**os.environ, "MONITOR_REDIS_URL": self.redis_url, "MONITOR_REDIS_PREFIX": self.prefix}

    def enqueue(self) -> int:
        return enqueue_feeds(self.redis_url, load_sources(self.sources).sources, prefix=self.prefix)

    def worker(self, name: str, *extra: str) -> subprocess.Popen[str]:
        """Start `monitor worker` in a child process (output in <folder>/<name>.log)."""
        sets = [arg for key, value in WORKER_SETTINGS.items() for arg in ("-s", f"{key}={value}")]
        log = open(self.folder / f"{name}.log", "w")  # noqa: SIM115 (closed with the process)
        args = [
            "worker",
            "--sources",
            str(self.sources),
            "--db",
            self.db,
            "--idle-exit",
            "3",
            "-v",
            *sets,
            *extra,
        ]
        return subprocess.Popen(
            [sys.executable, "-m", "monitor", *args],
            cwd=REPO,
            env=self.env(),
            stdout=log,
            stderr=log,
            text=True,
        )

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(encoding="utf-8", errors="replace")

    def stored(self) -> list[str]:
        """Paths of the stored articles (with repeats, if any)."""
        with Store.from_url(self.db, create=False).sessions() as session:
            return [_path(url) for url in session.scalars(select(ArticleRow.url))]


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[3].split("?")[0]


@pytest.fixture
def job(server: SlowOutlets, postgres_url: str, redis_url: str, tmp_path: Path) -> Iterator[Job]:
    sources = tmp_path / "sources.yaml"
    sources.write_text(yaml.safe_dump({"sources": demo_sources(server.base_url)}, allow_unicode=True))
    Store.from_url(postgres_url)  # the schema first (production: `monitor db upgrade`), not by racing workers
    prefix = f"test-dist-{uuid.uuid4().hex[:8]}"
    yield Job(postgres_url, redis_url, prefix, sources, tmp_path)
    _delete_prefix(redis_url, prefix)


def _delete_prefix(url: str, prefix: str) -> None:
    try:
        client = redis.Redis.from_url(url)
        keys = list(client.scan_iter(match=f"{prefix}:*"))
        if keys:
            client.delete(*keys)
        client.close()
    except redis.ConnectionError:
        pass


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def finish(job: Job, workers: dict[str, subprocess.Popen[str]], timeout: float = 150) -> None:
    """Wait for the workers to exit on their own (idle) and check they exited cleanly."""
    for name, process in workers.items():
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            raise AssertionError(f"worker {name} did not finish:\n{job.log(name)[-3000:]}") from None
        assert process.returncode == 0, f"worker {name} exited {process.returncode}:\n{job.log(name)[-3000:]}"


def assert_every_article_once(job: Job) -> None:
    stored = job.stored()
    doubled = sorted({p for p in stored if stored.count(p) > 1})
    assert not doubled, f"stored twice: {doubled}"
    assert set(stored) == ARTICLES, f"missing: {sorted(ARTICLES - set(stored))}"


def new_articles(text: str) -> int:
    """`new articles N` from a worker's summary line."""
    return int(text.split("new articles ", 1)[1].split()[0])


def test_two_workers_racing_without_a_seen_set_store_every_article_once(
    job: Job, server: SlowOutlets
) -> None:
    # The seen-set off: the article both feeds announce is fetched by whichever worker sees it unknown — usually
    # both, but a feed polled after the other's copy was stored skips it, so the count is not pinned. Either
    # way the database keeps one row with both feeds (the deterministic write race of two processes on one
    # article is tests/test_store_concurrency.py).
    before = len(server.fetched("/levant/news/2024/11/17/iranian-envoy-nasirzadeh-damascus.html"))
    produced = subprocess.run(
        [
            sys.executable,
            "-m",
            "monitor",
            "crawl",
            "--distributed",
            "--sources",
            str(job.sources),
            "--db",
            job.db,
        ],
        cwd=REPO,
        env=job.env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    polled = sum(len(list(s.polled())) for s in load_sources(job.sources).sources)  # feeds and the sitemap
    assert produced.returncode == 0 and f"queued {polled} feeds" in produced.stdout, produced.stderr[-2000:]
    off = ("-s", f"DUPEFILTER_CLASS={__name__}.NeverSeen")
    workers = {name: job.worker(name, *off) for name in ("a", "b")}
    finish(job, workers)
    assert_every_article_once(job)
    assert sum(new_articles(job.log(name)) for name in workers) == len(ARTICLES)
    cross_posted = server.fetched("/levant/news/2024/11/17/iranian-envoy-nasirzadeh-damascus.html")
    assert len(cross_posted) - before >= 1
    with Store.from_url(job.db, create=False).sessions() as session:
        row = session.scalar(select(ArticleRow).where(ArticleRow.url.contains("iranian-envoy-nasirzadeh")))
        assert row is not None and len(feed_urls(session, [row.id])[row.id]) == 2


def _leases(job: Job, pid: int) -> int:
    client = redis.Redis.from_url(job.redis_url)
    try:
        return sum(
            f":{pid}:" in token.decode() for token in client.zrange(queue_key(job.prefix) + ":leases", 0, -1)
        )
    finally:
        client.close()


def test_a_worker_killed_mid_request_loses_nothing(job: Job, server: SlowOutlets) -> None:
    server.page_delay = 1.5
    try:
        job.enqueue()
        victim = job.worker("victim")
        # It holds article requests under lease (the feeds were parsed) and has not stored them all.
        wait_for(
            lambda: len(job.stored()) >= 1 and _leases(job, victim.pid) >= 1, 90, "the victim to be mid-crawl"
        )
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=10)
        assert len(job.stored()) < len(ARTICLES)
        finish(job, {"survivor": job.worker("survivor")})
    finally:
        server.page_delay = 0.5
    assert_every_article_once(job)
    assert "re-queued" in job.log("survivor")  # the victim's leases expired and came back


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    """Start/restart a throwaway redis-server on a free port, with an append-only file fsynced on every write."""
    binary = shutil.which("redis-server")
    if binary is None:
        reason = "redis-server binary not found (needed to restart Redis mid-crawl)"
        if REQUIRE_SERVICES:
            pytest.fail(f"MONITOR_REQUIRE_SERVICES=1 but {reason}")
        pytest.skip(reason)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data = tmp_path / "redis"
    data.mkdir()
    started: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data), "--save", ""]
        args += ["--appendonly", "yes", "--appendfsync", "always", "--daemonize", "no"]
        process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started.append(process)
        client = redis.Redis(port=port)
        wait_for(lambda: _pings(client), 20, "redis-server to start")
        client.close()
        return process

    start.url = f"redis://127.0.0.1:{port}/0"  # type: ignore[attr-defined]
    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


def test_redis_killed_and_restarted_mid_crawl_loses_nothing(
    job: Job, own_redis: Callable[[], subprocess.Popen[bytes]]
) -> None:
    job.redis_url = own_redis.url  # type: ignore[attr-defined]
    redis_server = own_redis()
    job.enqueue()
    workers = {name: job.worker(name) for name in ("a", "b")}
    wait_for(lambda: len(job.stored()) >= 2, 90, "the first articles")
    redis_server.kill()
    redis_server.wait()
    time.sleep(2 * LEASE_SECONDS)  # longer than a lease: the restarted Redis finds every lease expired
    own_redis()
    finish(job, workers)
    assert_every_article_once(job)
    assert any("Redis unavailable" in job.log(name) for name in workers)


def test_database_dropping_every_connection_mid_crawl_loses_nothing(job: Job) -> None:
    job.enqueue()
    workers = {name: job.worker(name) for name in ("a", "b")}
    wait_for(lambda: len(job.stored()) >= 2, 90, "the first articles")
    admin = create_engine(job.db.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    name = job.db.rsplit("/", 1)[1]
    kill = text(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = :d AND pid <> pg_backend_pid()"
    )
    with admin.connect() as conn:
        for _ in range(3):
            conn.execute(kill, {"d": name})
            time.sleep(0.7)
    admin.dispose()
    finish(job, workers)
    assert_every_article_once(job)
