"""The lease-safe scheduler, the distributed spider's queue format, and the producer (against the real Redis)."""

from __future__ import annotations

import inspect
import pickle
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import redis
import scrapy
import yaml
from scrapy.core import engine as scrapy_engine
from scrapy.exceptions import DontCloseSpider
from scrapy.utils.test import get_crawler
from sqlalchemy.exc import OperationalError

from monitor.config import load_sources
from monitor.distributed import queue_key, worker_settings
from monitor.distributed.producer import enqueue_feeds, feed_jobs
from monitor.distributed.queue import LEASE_META
from monitor.distributed.scheduler import LeasedScheduler
from monitor.items import EntryContext
from spiders.base import PollTarget
from spiders.feeds_redis import DistributedFeedSpider, TargetRef, feed_job
from storage.store import FetchEvent, Store

SOURCES = [
    {
        "id": "alpha",
        "name": "Alpha",
        "language": "en",
        "feeds": ["http://127.0.0.1:9/a.xml", "http://127.0.0.1:9/b.xml"],
    },
    {"id": "beta", "name": "Beta", "language": "ar", "feeds": ["http://127.0.0.1:9/c.xml"], "enabled": False},
]


class PlainSpider(scrapy.Spider):
    """A spider without to_queue/from_queue: Scrapy's own request dicts go through the queue."""

    name = "plain"

    def parse(self, response: Any) -> None:
        """Unused."""


def test_scrapy_still_tracks_in_progress_requests_on_the_engine_slot() -> None:
    # LeasedScheduler.in_progress() relies on it; see its docstring.
    assert "self.inprogress" in inspect.getsource(scrapy_engine._Slot)
    assert "self._slot.add_request(request)" in inspect.getsource(scrapy_engine.ExecutionEngine._download)


@pytest.fixture
def prefix() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def scheduler(redis_url: str, prefix: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[LeasedScheduler]:
    """An opened LeasedScheduler for PlainSpider with a stand-in engine slot (no reactor, no heartbeat loop)."""
    monkeypatch.setattr(LeasedScheduler, "_start_heartbeat", lambda self: None)
    crawler = get_crawler(PlainSpider, worker_settings(redis_url, prefix, MONITOR_LEASE_SECONDS=30))
    crawler.spider = PlainSpider.from_crawler(crawler)
    crawler.engine = SimpleNamespace(_slot=SimpleNamespace(inprogress=set()))  # type: ignore[assignment]
    sched = LeasedScheduler.from_crawler(crawler)
    sched.open(crawler.spider)
    yield sched
    sched.queue.clear()
    sched.df.clear()


def _break(client: redis.Redis, port: int) -> None:
    """Point a client at another port (1: nothing listens) and drop its connections."""
    client.connection_pool.connection_kwargs["port"] = port
    client.connection_pool.disconnect()
    client.connection_pool.reset()  # forget the pooled connections, which remember their port


def test_popped_request_is_acked_only_when_the_engine_is_done(scheduler: LeasedScheduler) -> None:
    inprogress = scheduler.crawler.engine._slot.inprogress  # type: ignore[union-attr]
    assert scheduler.enqueue_request(scrapy.Request("http://127.0.0.1:9/x"))
    request = scheduler.next_request()
    assert request is not None and request.meta[LEASE_META]
    inprogress.add(request)
    scheduler.beat()
    assert scheduler.queue.leases.in_flight() == 1  # still in progress: extended, not acked
    inprogress.discard(request)
    scheduler.beat()
    assert scheduler.queue.leases.in_flight() == 0 and scheduler.queue.leases.pending() == 0


def test_duplicate_article_is_filtered_but_feeds_are_not(scheduler: LeasedScheduler) -> None:
    assert scheduler.enqueue_request(scrapy.Request("http://127.0.0.1:9/a"))
    assert not scheduler.enqueue_request(scrapy.Request("http://127.0.0.1:9/a"))
    assert scheduler.enqueue_request(scrapy.Request("http://127.0.0.1:9/feed", dont_filter=True))
    assert scheduler.enqueue_request(scrapy.Request("http://127.0.0.1:9/feed", dont_filter=True, priority=1))
    assert len(scheduler) == 3


def test_database_failure_is_retried_later_not_acked(scheduler: LeasedScheduler) -> None:
    scheduler.retry_later = 0.01
    scheduler.enqueue_request(scrapy.Request("http://127.0.0.1:9/x"))
    request = scheduler.next_request()
    assert request is not None
    lost = OperationalError("INSERT", {}, Exception("server closed the connection unexpectedly"))
    scheduler._item_error(
        item=None,
        response=scrapy.http.Response(request.url, request=request),
        failure=SimpleNamespace(value=lost),
    )
    scheduler.beat()  # settles: lease shortened to retry_later
    time.sleep(0.05)
    scheduler.beat()  # reaps it
    assert scheduler.queue.leases.pending() == 1 and scheduler.queue.leases.in_flight() == 0


def test_requests_wait_in_memory_while_redis_is_away(scheduler: LeasedScheduler, redis_url: str) -> None:
    client = scheduler.server
    port = client.connection_pool.connection_kwargs["port"]
    scheduler.enqueue_request(scrapy.Request("http://127.0.0.1:9/parent"))
    parent = scheduler.next_request()
    inprogress = scheduler.crawler.engine._slot.inprogress  # type: ignore[union-attr]
    inprogress.add(parent)
    _break(client, 1)
    try:
        assert scheduler.enqueue_request(scrapy.Request("http://127.0.0.1:9/child"))
        inprogress.discard(parent)  # the parent is done, but its child is not in Redis yet
        assert scheduler.next_request() is None
        assert scheduler.has_pending_requests()
        scheduler.beat()  # no exception, nothing acked
        assert len(scheduler.backlog) == 1 and scheduler.redis_down
    finally:
        _break(client, port)
    scheduler.retry_at = 0.0
    scheduler.beat()
    assert not scheduler.backlog and not scheduler.redis_down
    assert scheduler.queue.leases.in_flight() == 0  # parent acked after its child was pushed
    child = scheduler.next_request()
    assert child is not None and child.url.endswith("/child")


def test_idle_worker_exits_only_when_nobody_holds_work(scheduler: LeasedScheduler) -> None:
    scheduler.idle_exit = 0.01
    scheduler.queue.leases.push(b"someone-elses")
    scheduler.queue.leases.pop("other-worker/1", 30)
    with pytest.raises(DontCloseSpider):
        scheduler._spider_idle()
    scheduler.queue.leases.ack(["other-worker/1"])
    with pytest.raises(DontCloseSpider):
        scheduler._spider_idle()  # starts the idle clock
    time.sleep(0.05)
    scheduler._spider_idle()  # no exception: the spider may close


# -- the distributed spider's queue format --------------------------------------------------------------------


@pytest.fixture
def spider(tmp_path: Path, sqlite_url: str) -> DistributedFeedSpider:
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump({"sources": SOURCES}), encoding="utf-8")
    crawler = get_crawler(
        DistributedFeedSpider, {"MONITOR_SOURCES": str(path), "MONITOR_DATABASE_URL": sqlite_url}
    )
    spider = DistributedFeedSpider.from_crawler(crawler)
    crawler.spider = spider
    return spider


def test_article_request_travels_with_a_source_id(spider: DistributedFeedSpider) -> None:
    entry = EntryContext("alpha", "http://127.0.0.1:9/a.xml", "http://127.0.0.1:9/story", "g1", "Story")
    target = PollTarget(spider.by_id["alpha"], "http://127.0.0.1:9/a.xml", "feed")
    request = spider.article_request(target, entry)
    payload = pickle.dumps(spider.to_queue(request))
    assert b"SourceConfig" not in payload
    assert pickle.loads(payload)["cb_kwargs"]["target"] == TargetRef(
        "alpha", "http://127.0.0.1:9/a.xml", "feed"
    )
    back = spider.from_queue(pickle.loads(payload))
    assert back is not None and back.callback == spider.parse_article
    assert back.cb_kwargs == {"target": target, "entry": entry}


def test_feed_job_becomes_a_conditional_get_with_fresh_validators(spider: DistributedFeedSpider) -> None:
    store: Store = spider.store
    store.sync_sources(spider.sources)
    store.record_fetch(
        FetchEvent("alpha", "http://127.0.0.1:9/a.xml", "http://127.0.0.1:9/a.xml", "feed", 200, etag='"v1"')
    )
    request = spider.from_queue(feed_job("alpha", "http://127.0.0.1:9/a.xml"))
    assert request is not None and request.dont_filter and request.callback == spider.parse_feed
    assert request.headers[b"If-None-Match"] == b'"v1"'
    assert request.cb_kwargs["state"].etag == '"v1"'


def test_unknown_source_is_dropped_and_counted(spider: DistributedFeedSpider) -> None:
    assert spider.from_queue(feed_job("gamma", "http://127.0.0.1:9/z.xml")) is None
    assert spider.crawler.stats.get_value("monitor/distributed/unknown_source") == 1
    assert spider.from_queue(feed_job("alpha", "http://127.0.0.1:9/gone.xml")) is None  # no longer polled
    assert spider.crawler.stats.get_value("monitor/distributed/unknown_source") == 2


# -- the producer ---------------------------------------------------------------------------------------------


def _sources(tmp_path: Path) -> Any:
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump({"sources": SOURCES}), encoding="utf-8")
    return load_sources(path).sources


def test_feed_jobs_cover_enabled_sources_or_the_given_urls(tmp_path: Path) -> None:
    sources = _sources(tmp_path)
    assert feed_jobs(sources) == [
        ("alpha", "http://127.0.0.1:9/a.xml"),
        ("alpha", "http://127.0.0.1:9/b.xml"),
    ]
    assert feed_jobs(sources, ["http://127.0.0.1:9/b.xml"]) == [("alpha", "http://127.0.0.1:9/b.xml")]
    with pytest.raises(ValueError, match=r"c\.xml"):
        feed_jobs(sources, ["http://127.0.0.1:9/c.xml"])  # its source is disabled


@pytest.mark.redis
def test_enqueue_feeds_never_queues_a_waiting_feed_twice(tmp_path: Path, redis_url: str, prefix: str) -> None:
    sources = _sources(tmp_path)
    assert enqueue_feeds(redis_url, sources, prefix=prefix) == 2
    assert enqueue_feeds(redis_url, sources, ["http://127.0.0.1:9/a.xml"], prefix=prefix) == 1
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.zcard(queue_key(prefix)) == 2
    finally:
        client.delete(queue_key(prefix))
        client.close()


def test_priorities_stay_strict_and_one_outlet_does_not_pop_as_a_block(scheduler: LeasedScheduler) -> None:
    for n in range(100):
        for host in ("127.0.0.2", "127.0.0.3"):
            scheduler.enqueue_request(scrapy.Request(f"http://{host}/story-{n:03d}"))
    scheduler.enqueue_request(scrapy.Request("http://127.0.0.4/urgent", priority=5))
    popped = [scheduler.next_request() for _ in range(21)]
    assert popped[0] is not None and popped[0].url.endswith("/urgent")
    assert {r.url.split("/")[2] for r in popped[1:] if r is not None} == {"127.0.0.2", "127.0.0.3"}
