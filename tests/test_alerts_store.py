"""Alert storage, one notification per story, the delivery outbox (backoff, digests, expiry), pipeline, CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from twisted.internet import defer
from werkzeug import Request, Response

import storage.alert_models  # noqa: F401  (registers the alert tables on Base.metadata)
from monitor.alerts.channels import AlertView, DeliveryError, Sender, make_sender
from monitor.alerts.cli import alerts as alerts_cli
from monitor.alerts.cli import watch as watch_cli
from monitor.alerts.delivery import BACKOFF_BASE, DeliveryReport, backoff, deliver_pending, retry_pending
from monitor.alerts.matcher import Matcher
from monitor.alerts.pipeline import AlertPipeline
from monitor.alerts.store import DELIVERY_TTL, article_document, digest_due, store_matches
from monitor.alerts.watches import Watch, add_watch
from storage.alert_models import DELIVERED, EXPIRED, PENDING, REASON_SAME_STORY, AlertDelivery, AlertRow
from storage.db import make_engine, make_sessionmaker
from storage.models import ArticleRow, Base, Source, StoryCluster

T0 = datetime(2026, 11, 25, 12, 0, 7, tzinfo=UTC)


@pytest.fixture
def db_url(db_url: str) -> str:
    """The shared fixture's database (SQLite, and PostgreSQL when reachable) with tables and two sources."""
    url = db_url
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all(
            [
                Source(id="enab", name="Enab Baladi", language="ar"),
                Source(id="bbcfa", name="BBC Persian", language="fa"),
            ]
        )
        session.commit()
    engine.dispose()
    return url


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    yield make_sessionmaker(engine)
    engine.dispose()


def add_article(
    session: Session, n: int, text: str, *, source: str = "enab", title: str = "", cluster: int | None = None
) -> ArticleRow:
    """Store an article (and its story cluster if asked)."""
    article = ArticleRow(
        source_id=source,
        canonical_url=f"https://example.org/{n}",
        url=f"https://example.org/{n}",
        title=title or f"Article {n}",
        text=text,
        language="ar",
        original_source="سانا",
        content_hash=str(n),
        extractor_version="t",
        fetched_at=T0,
    )
    session.add(article)
    session.flush()
    if cluster is not None:
        if session.get(StoryCluster, cluster) is None:
            session.add(StoryCluster(id=cluster, first_article_id=article.id, first_source_id=source))
            session.flush()
        article.cluster_id = cluster
    session.commit()
    return article


def watch(name: str = "syria", **fields: Any) -> Watch:
    return Watch.model_validate(
        {"name": name, "any": ["دمشق"], "channels": ["webhook:http://127.0.0.1:9/x"], **fields}
    )


def match_and_store(
    session: Session, article: ArticleRow, watches: list[Watch], now: datetime = T0
) -> list[AlertRow]:
    matches = Matcher(watches).match(article_document(article))
    return store_matches(session, article, matches, {w.name: w for w in watches}, now)


@dataclass
class Recorder:
    """A sender that records messages and fails the first `failures` times."""

    failures: int = 0
    sent: list[tuple[str, list[AlertView]]] | None = None

    def send(self, watch: str, views: list[AlertView]) -> None:
        if self.failures:
            self.failures -= 1
            raise DeliveryError("http 500")
        self.sent = (self.sent or []) + [(watch, list(views))]


def statuses(session: Session) -> list[tuple[str, int]]:
    return [(d.status, d.attempts) for d in session.scalars(select(AlertDelivery).order_by(AlertDelivery.id))]


def test_one_notification_per_story_cluster(sessions: sessionmaker[Session]) -> None:
    w = [watch(channels=["log", "webhook:http://127.0.0.1:9/x"])]
    with sessions() as session:
        first = add_article(session, 1, "وصل الوفد بدمشق", cluster=5)
        copy = add_article(session, 2, "الوفد في دمشق", source="bbcfa", cluster=5)
        other = add_article(session, 3, "خبر آخر من دمشق")
        (a1,) = match_and_store(session, first, w)
        (a2,) = match_and_store(session, copy, w)
        (a3,) = match_and_store(session, other, w)
        assert (a1.notified, a1.story_key, a1.reason) == (True, "cluster:5", None)
        assert (a2.notified, a2.reason) == (False, REASON_SAME_STORY)
        assert (a3.notified, a3.story_key) == (True, "article:3")
        assert a1.matched_terms == ["دمشق"] and "بدمشق" in a1.snippet
        deliveries = session.scalars(select(AlertDelivery.alert_id, AlertDelivery.channel)).all()
        assert sorted(session.execute(select(AlertDelivery.alert_id, AlertDelivery.channel))) == [
            (a1.id, "log"),
            (a1.id, "webhook:http://127.0.0.1:9/x"),
            (a3.id, "log"),
            (a3.id, "webhook:http://127.0.0.1:9/x"),
        ]
        assert len(deliveries) == 4


def test_story_alerted_before_clustering_is_not_notified_twice(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        first = add_article(session, 1, "دمشق")
        (a1,) = match_and_store(session, first, [watch()])
        assert a1.story_key == "article:1"
        session.add(StoryCluster(id=9, first_article_id=first.id, first_source_id="enab"))
        session.flush()
        first.cluster_id = 9
        session.commit()
        copy = add_article(session, 2, "دمشق", cluster=9)
        (a2,) = match_and_store(session, copy, [watch()])
        assert not a2.notified


def test_each_watch_notifies_independently_and_restore_is_idempotent(sessions: sessionmaker[Session]) -> None:
    watches = [watch("a"), watch("b")]
    with sessions() as session:
        article = add_article(session, 1, "دمشق", cluster=2)
        assert [r.notified for r in match_and_store(session, article, watches)] == [True, True]
        assert match_and_store(session, article, watches) == []
        assert session.scalar(select(func.count()).select_from(AlertRow)) == 2


def test_partial_unique_index_guards_concurrent_notifications(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        a, b = add_article(session, 1, "x"), add_article(session, 2, "y")
        session.add(AlertRow(watch="w", article_id=a.id, story_key="cluster:1", notified=True))
        session.add(AlertRow(watch="w", article_id=b.id, story_key="cluster:1", notified=False))
        session.commit()
        session.add(AlertRow(watch="w", article_id=b.id + 0, story_key="cluster:1", notified=True))
        with pytest.raises(IntegrityError):
            session.commit()


def test_backoff_doubles_and_caps() -> None:
    assert [backoff(n) for n in (1, 2, 3)] == [BACKOFF_BASE, 2 * BACKOFF_BASE, 4 * BACKOFF_BASE]
    assert backoff(50) == timedelta(hours=6)


def test_webhook_failing_twice_is_delivered_on_third_attempt(
    sessions: sessionmaker[Session], httpserver: HTTPServer
) -> None:
    calls: list[Request] = []

    def flaky(request: Request) -> Response:
        calls.append(request)
        return Response("busy", status=500) if len(calls) <= 2 else Response("ok", status=200)

    httpserver.expect_request("/hook", method="POST").respond_with_handler(flaky)
    w = watch(channels=[f"webhook:{httpserver.url_for('/hook')}"])
    senders = lambda spec: make_sender(spec, {"MONITOR_WEBHOOK_SECRET": "k"})  # noqa: E731
    with sessions() as session:
        match_and_store(session, add_article(session, 1, "دمشق"), [w])
        assert deliver_pending(session, T0, senders).failed == 1
        assert statuses(session) == [(PENDING, 1)]
        assert deliver_pending(session, T0 + timedelta(seconds=30), senders).messages == 0  # backing off
        assert deliver_pending(session, T0 + backoff(1), senders).failed == 1
        row = session.scalars(select(AlertDelivery)).one()
        assert row.last_error == "http 500" and row.next_attempt_at == T0 + backoff(1) + backoff(2)
        assert (
            deliver_pending(session, T0 + backoff(1) + backoff(2) - timedelta(seconds=1), senders).messages
            == 0
        )
        report = deliver_pending(session, T0 + backoff(1) + backoff(2), senders)
        assert report.delivered == 1 and statuses(session) == [(DELIVERED, 3)]
        assert len(calls) == 3 and json.loads(calls[2].get_data())["alerts"][0]["source"] == "Enab Baladi"
        assert deliver_pending(session, T0 + timedelta(days=1), senders).messages == 0


def test_failing_delivery_expires_but_is_kept_and_can_be_revived(sessions: sessionmaker[Session]) -> None:
    broken = Recorder(failures=10**6)
    with sessions() as session:
        match_and_store(session, add_article(session, 1, "دمشق"), [watch()])
        now = T0
        while statuses(session)[0][0] == PENDING:
            deliver_pending(session, now, lambda _: broken)
            now += timedelta(hours=6)
        assert statuses(session)[0][0] == EXPIRED
        assert now - T0 > DELIVERY_TTL - timedelta(hours=6)
        fixed = Recorder()
        assert retry_pending(session, now, lambda _: fixed).delivered == 0
        report = retry_pending(session, now, lambda _: fixed, include_expired=True)
        assert report.delivered == 1 and fixed.sent and statuses(session)[0][0] == DELIVERED


def test_retry_sends_pending_rows_now(sessions: sessionmaker[Session]) -> None:
    recorder = Recorder(failures=1)
    with sessions() as session:
        match_and_store(session, add_article(session, 1, "دمشق"), [watch()])
        deliver_pending(session, T0, lambda _: recorder)
        assert retry_pending(session, T0 + timedelta(seconds=1), lambda _: recorder).delivered == 1


def test_digest_groups_matches_per_watch_and_channel(sessions: sessionmaker[Session]) -> None:
    recorder = Recorder()
    w = watch(mode="digest", digest_every="30m", channels=["log", "console"])
    due = digest_due(T0, timedelta(minutes=30))
    assert due == datetime(2026, 11, 25, 12, 30, tzinfo=UTC)
    with sessions() as session:
        for n in range(3):
            match_and_store(session, add_article(session, n + 1, f"دمشق {n}"), [w], T0 + timedelta(minutes=n))
        assert deliver_pending(session, due - timedelta(seconds=1), lambda _: recorder).messages == 0
        report = deliver_pending(session, due, lambda _: recorder)
        assert (report.messages, report.delivered) == (2, 6)
        assert recorder.sent is not None and [len(views) for _, views in recorder.sent] == [3, 3]
        match_and_store(session, add_article(session, 9, "دمشق"), [w], due + timedelta(minutes=1))
        assert deliver_pending(session, due + timedelta(minutes=29), lambda _: recorder).messages == 0
        assert deliver_pending(session, due + timedelta(minutes=30), lambda _: recorder).messages == 2


def test_claimed_rows_are_not_sent_twice(sessions: sessionmaker[Session]) -> None:
    recorder = Recorder()
    with sessions() as session:
        match_and_store(session, add_article(session, 1, "دمشق"), [watch()])
        inner: list[int] = []

        class Reentrant:
            def send(self, watch_name: str, views: list[AlertView]) -> None:
                with sessions() as other:
                    inner.append(deliver_pending(other, T0, lambda _: recorder).messages)

        assert deliver_pending(session, T0, lambda _: Reentrant()).delivered == 1
        assert inner == [0] and recorder.sent is None


@dataclass
class StoredItem:
    article_id: int
    created: bool


def write_watches(path: Path, *watches: Watch) -> None:
    for w in watches:
        add_watch(path, w)


def make_pipeline(tmp_path: Path, db_url: str, recorder: Sender) -> AlertPipeline:
    path = tmp_path / "watches.yaml"
    if not path.exists():
        write_watches(path, watch(channels=["log"]))
    crawler = get_crawler(settings_dict={"MONITOR_WATCHES": str(path), "MONITOR_DATABASE_URL": db_url})
    pipeline = AlertPipeline.from_crawler(crawler)
    pipeline.senders = lambda _: recorder
    pipeline.in_thread = lambda f: defer.maybeDeferred(f)  # synchronous: the real one is deferToThread
    return pipeline


def test_pipeline_is_off_without_watches_setting() -> None:
    with pytest.raises(NotConfigured):
        AlertPipeline.from_crawler(get_crawler(settings_dict={}))


def test_pipeline_matches_new_articles_and_delivers(
    tmp_path: Path, db_url: str, sessions: sessionmaker[Session]
) -> None:
    recorder = Recorder()
    pipeline = make_pipeline(tmp_path, db_url, recorder)
    with sessions() as session:
        new, old = add_article(session, 1, "وصل بدمشق"), add_article(session, 2, "دمشق")
    item = StoredItem(new.id, created=True)
    assert pipeline.process_item(item) is item
    assert pipeline.process_item(StoredItem(old.id, created=False)).created is False
    assert recorder.sent is not None and [[v.title for v in views] for _, views in recorder.sent] == [
        [new.title]
    ]
    stats = pipeline.crawler.stats.get_stats()
    assert stats["monitor/alerts/notified"] == 1 and stats["monitor/alerts/delivery/delivered"] == 1
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(AlertRow)) == 1


def test_pipeline_reloads_watches_and_keeps_old_ones_when_invalid(
    tmp_path: Path, db_url: str, sessions: sessionmaker[Session]
) -> None:
    pipeline = make_pipeline(tmp_path, db_url, Recorder())
    path = tmp_path / "watches.yaml"
    write_watches(path, Watch(name="tehran", any=["Tehran"], channels=["log"]))
    with sessions() as session:
        article = add_article(session, 1, "Tehran and دمشق")
    pipeline.process_item(StoredItem(article.id, True))
    path.write_text("watches:\n  - name: broken\n    bogus: 1\n", encoding="utf-8")
    with sessions() as session:
        second = add_article(session, 2, "Tehran")
    pipeline.process_item(StoredItem(second.id, True))
    assert pipeline.crawler.stats.get_value("monitor/alerts/watches_invalid") == 1
    with sessions() as session:
        assert sorted(session.scalars(select(AlertRow.watch))) == ["syria", "tehran", "tehran"]


def test_pipeline_missing_article_is_an_error(tmp_path: Path, db_url: str) -> None:
    pipeline = make_pipeline(tmp_path, db_url, Recorder())
    with pytest.raises(LookupError, match="article 404"):
        pipeline.process_item(StoredItem(404, True))


def test_cli_watch_test_and_alerts_list(tmp_path: Path, db_url: str, sessions: sessionmaker[Session]) -> None:
    path = tmp_path / "watches.yaml"
    write_watches(path, watch(none=["كرة القدم"], channels=["log"]))
    with sessions() as session:
        add_article(session, 1, "وصل الوفد إلى دمشق أمس")
        add_article(session, 2, "مباراة كرة القدم في دمشق")
        old = add_article(session, 3, "دمشق قديم")
        old.fetched_at = datetime.now(UTC) - timedelta(days=30)
        session.commit()
    runner = CliRunner()
    args = ["test", "syria", "--since", "36500d", "--watches", str(path), "--db", db_url, "--json"]
    assert [r["article_id"] for r in json.loads(runner.invoke(watch_cli, args).output)] == [1, 3]
    args[3] = "7d"
    assert [r["article_id"] for r in json.loads(runner.invoke(watch_cli, args).output)] == [1]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(AlertRow)) == 0
    table = runner.invoke(
        watch_cli, ["test", "syria", "--since", "36500d", "--watches", str(path), "--db", db_url]
    )
    assert "2 match(es)" in table.output
    assert runner.invoke(watch_cli, ["test", "nope", "--watches", str(path), "--db", db_url]).exit_code == 1
    with sessions() as session:
        match_and_store(
            session,
            session.get(ArticleRow, 1),
            [watch(channels=["webhook:https://hooks.example.org/T/secret"])],
        )
    listed = json.loads(runner.invoke(alerts_cli, ["list", "--db", db_url, "--json"]).output)
    assert (
        listed[0]["watch"] == "syria"
        and listed[0]["deliveries"][0]["channel"] == "webhook:https://hooks.example.org/…"
    )
    assert "secret" not in runner.invoke(alerts_cli, ["list", "--db", db_url]).output


def test_cli_alerts_deliver_and_retry(
    db_url: str, sessions: sessionmaker[Session], httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/hook").respond_with_data("no", status=503)
    with sessions() as session:
        match_and_store(
            session,
            add_article(session, 1, "دمشق"),
            [watch(channels=[f"webhook:{httpserver.url_for('/hook')}"])],
            datetime.now(UTC),
        )
    runner = CliRunner()
    failed = runner.invoke(alerts_cli, ["deliver", "--db", db_url])
    assert failed.exit_code == 1 and "failed 1" in failed.output
    httpserver.clear()
    httpserver.expect_request("/hook").respond_with_data("ok")
    assert "delivered 0" in runner.invoke(alerts_cli, ["deliver", "--db", db_url]).output  # still backing off
    retried = runner.invoke(alerts_cli, ["retry", "--db", db_url])
    assert retried.exit_code == 0 and "delivered 1" in retried.output


def test_cli_reports_missing_schema(tmp_path: Path) -> None:
    result = CliRunner().invoke(alerts_cli, ["list", "--db", f"sqlite:///{tmp_path / 'empty.db'}"])
    assert result.exit_code == 1 and "no such table" in result.output


def test_pipeline_close_runs_a_final_delivery(
    tmp_path: Path, db_url: str, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    # No reactor in this test: every Deferred has already fired (synchronous in_thread), so await it directly.
    monkeypatch.setattr("monitor.alerts.pipeline.maybe_deferred_to_future", lambda d: d)
    recorder = Recorder(failures=1)
    pipeline = make_pipeline(tmp_path, db_url, recorder)
    with sessions() as session:
        article = add_article(session, 1, "دمشق")
    pipeline.process_item(StoredItem(article.id, True))
    assert recorder.sent is None  # the first attempt failed; the row waits for its backoff
    with sessions() as session:
        session.execute(update(AlertDelivery).values(next_attempt_at=T0))
        session.commit()
    closing = pipeline.close_spider()
    with pytest.raises(StopIteration):
        closing.send(None)
    assert recorder.sent is not None
    assert pipeline.crawler.stats.get_value("monitor/alerts/delivery/delivered") == 1


def test_pipeline_runs_one_delivery_at_a_time(tmp_path: Path, db_url: str) -> None:
    pipeline = make_pipeline(tmp_path, db_url, Recorder())
    started: list[defer.Deferred[Any]] = []

    def later(_: Any) -> defer.Deferred[Any]:
        started.append(defer.Deferred())
        return started[-1]

    pipeline.in_thread = later
    pipeline.kick()
    pipeline.kick()
    pipeline.kick()
    assert len(started) == 1
    started[0].callback(DeliveryReport(delivered=2))
    assert len(started) == 2  # one more run for the kicks that came in meanwhile
    started[1].errback(RuntimeError("boom"))
    assert len(started) == 2 and pipeline._running is None
    stats = pipeline.crawler.stats
    assert stats.get_value("monitor/alerts/delivery/delivered") == 2
    assert stats.get_value("monitor/alerts/delivery/error") == 1
