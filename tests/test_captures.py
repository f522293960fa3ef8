"""Raw captures: stored compressed with headers, fetch time and extractor version (once per distinct body), the
capture pipeline, retention/prune, and `monitor reextract` rebuilding articles offline through the revision logic."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler
from sqlalchemy import func, select, update

from monitor import captures
from monitor.capture_pipeline import CapturePipeline
from monitor.commands.workflow import captures as captures_cmd
from monitor.commands.workflow import reextract_cmd
from monitor.extract import extract_article
from monitor.items import ArticleItem, EntryContext, PageItem
from monitor.reextract import reextract
from storage import migrate
from storage.capture_models import CaptureRow
from storage.models import ArticleRevision, ArticleRow
from storage.store import EXTRACTOR_VERSION, Store
from tests.test_store_backends import FakeSource

URL = "https://levant.example/news/2024/11/12/refinery"
FETCHED = datetime(2024, 11, 12, 8, 0, tzinfo=UTC)
PARAGRAPH = (
    "<p>الفقرة رقم {i}: أعلن وزير الطاقة اليوم أن أعمال الصيانة في مصفاة حمص ستبدأ الأسبوع المقبل وتستمر ثلاثة "
    "أسابيع، مؤكداً أن الإمدادات لن تتأثر خلال هذه الفترة وأن المخزون يكفي لتغطية حاجة السوق المحلية.</p>"
)
# A news page written for these tests: Arabic headline, byline meta, dated, six paragraphs.
PAGE = (
    '<!doctype html><html lang="ar" dir="rtl"><head><meta charset="utf-8">'
    "<title>وزير الطاقة يعلن خطة لصيانة مصفاة حمص | الشام اليوم</title>"
    '<meta property="og:title" content="وزير الطاقة يعلن خطة لصيانة مصفاة حمص">'
    '<meta name="author" content="رنا حداد">'
    '<meta property="article:published_time" content="2024-11-12T10:15:00+03:00">'
    f'<link rel="canonical" href="{URL}"></head><body><nav><a href="/">الرئيسية</a></nav>'
    "<article><h1>وزير الطاقة يعلن خطة لصيانة مصفاة حمص</h1>"
    + "".join(PARAGRAPH.format(i=i) for i in range(1, 7))
    + "</article><footer>جميع الحقوق محفوظة</footer></body></html>"
).encode()


def page(body: bytes = PAGE, fetched: datetime = FETCHED) -> PageItem:
    entry = EntryContext("levant", "https://levant.example/feed.xml", URL, "g1", title="Feed title")
    headers = {"Content-Type": "text/html; charset=utf-8", "ETag": '"v1"'}
    return PageItem(entry, URL, 200, headers, body, fetched, default_tz="Asia/Damascus")


@pytest.fixture
def store(db_url: str) -> Store:
    migrate.upgrade(db_url)
    store = Store.from_url(db_url)
    store.sync_sources([FakeSource()])
    return store


def n_captures(store: Store) -> int:
    with store.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(CaptureRow)) or 0)


def test_compression_round_trip_and_unknown_codec() -> None:
    packed = captures.compress(PAGE)
    assert len(packed) < len(PAGE) / 2
    assert captures.decompress("zstd", packed) == PAGE
    with pytest.raises(ValueError, match="unknown codec 'lz9'"):
        captures.decompress("lz9", packed)


def test_capture_kept_once_per_distinct_body(store: Store) -> None:
    assert captures.save_captures(store, [page()]) == 1
    assert captures.save_captures(store, [page(fetched=FETCHED + timedelta(hours=1))]) == 0  # unchanged page
    assert captures.save_captures(store, [page(PAGE + b"<!-- edited -->")]) == 1
    with store.sessions() as session:
        row = session.scalars(select(CaptureRow).order_by(CaptureRow.id)).first()
    assert row is not None
    assert captures.decompress(row.compression, row.body) == PAGE and row.size == len(PAGE)
    assert row.headers["ETag"] == '"v1"' and row.fetched_at == FETCHED and row.status == 200
    assert row.extractor_version == EXTRACTOR_VERSION and row.context["default_tz"] == "Asia/Damascus"
    assert captures.entry_from_context(row.context).title == "Feed title"


def test_prune_by_age(store: Store) -> None:
    captures.save_captures(store, [page(), page(PAGE + b" ", fetched=FETCHED + timedelta(days=100))])
    now = FETCHED + timedelta(days=120)
    assert captures.prune(store, timedelta(days=90), now=now) == 1
    assert n_captures(store) == 1


def test_retention_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert captures.retention({}) is None
    assert captures.retention({"MONITOR_CAPTURE_RETENTION": "90d"}) == timedelta(days=90)
    with pytest.raises(ValueError, match="MONITOR_CAPTURE_RETENTION"):
        captures.retention({"MONITOR_CAPTURE_RETENTION": "three months"})


def test_prune_command(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    migrate.upgrade(sqlite_url)
    store = Store.from_url(sqlite_url)
    store.sync_sources([FakeSource()])
    old, new = datetime.now(UTC) - timedelta(days=200), datetime.now(UTC)
    captures.save_captures(store, [page(fetched=old), page(PAGE + b" ", fetched=new)])
    runner = CliRunner()
    monkeypatch.delenv("MONITOR_CAPTURE_RETENTION", raising=False)
    assert runner.invoke(captures_cmd, ["prune", "--db", sqlite_url]).exit_code == 2
    monkeypatch.setenv("MONITOR_CAPTURE_RETENTION", "90d")
    result = runner.invoke(captures_cmd, ["prune", "--db", sqlite_url])
    assert result.exit_code == 0 and "pruned 1 captures older than 90d" in result.output
    result = runner.invoke(captures_cmd, ["prune", "--older-than", "forever", "--db", sqlite_url])
    assert result.exit_code == 2 and "not a duration" in result.output
    result = runner.invoke(captures_cmd, ["stats", "--db", sqlite_url])
    assert result.exit_code == 0 and result.output.startswith("1 captures")


def test_capture_pipeline_keeps_pages_and_passes_items(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MONITOR_CAPTURE_RETENTION", "30d")
    crawler = get_crawler(settings_dict={"MONITOR_DATABASE_URL": sqlite_url})
    crawler.stats.open_spider()
    pipeline = CapturePipeline.from_crawler(crawler)
    pipeline.store.sync_sources([FakeSource()])
    item = page(fetched=datetime.now(UTC))
    assert asyncio.run(pipeline.process_item(item)) is item
    assert asyncio.run(pipeline.process_item(item)) is item
    assert asyncio.run(pipeline.process_item("not a page")) == "not a page"
    assert crawler.stats.get_value("monitor/captures/new") == 1
    assert crawler.stats.get_value("monitor/captures/unchanged") == 1
    captures.save_captures(
        pipeline.store, [page(PAGE + b" ", fetched=datetime.now(UTC) - timedelta(days=40))]
    )
    pipeline.close_spider()
    assert crawler.stats.get_value("monitor/captures/pruned") == 1 and n_captures(pipeline.store) == 1


def test_capture_pipeline_can_be_switched_off() -> None:
    crawler = get_crawler(settings_dict={"MONITOR_CAPTURES": False})
    with pytest.raises(NotConfigured):
        CapturePipeline.from_crawler(crawler)


def _stored_from_page(store: Store) -> int:
    """What the pipeline does with a fetched page: capture, extract, store."""
    item = page()
    captures.save_captures(store, [item])
    article = extract_article(item.body, item.url, headers_charset="utf-8")
    assert article.is_article
    return store.save_article(ArticleItem(item.entry, item.url, article, item.fetched_at)).article_id


def test_reextract_rebuilds_from_capture_and_keeps_history(store: Store) -> None:
    article_id = _stored_from_page(store)
    with store.transaction() as session:  # what an older, worse extractor had stored
        session.execute(
            update(ArticleRow)
            .where(ArticleRow.id == article_id)
            .values(title="Old title", authors=[], text="Only the first paragraph.", content_hash="x" * 64)
        )
    changes = list(reextract(store))
    assert len(changes) == 1 and changes[0].article_id == article_id
    assert set(changes[0].changes) >= {"title", "authors", "text"}
    assert changes[0].changes["title"] == ("Old title", "وزير الطاقة يعلن خطة لصيانة مصفاة حمص")
    assert changes[0].revision == 2
    with store.sessions() as session:
        row = session.get_one(ArticleRow, article_id)
        kept = session.scalars(select(ArticleRevision)).one()
    assert row.authors == ["رنا حداد"] and row.revision == 2
    assert kept.text == "Only the first paragraph." and kept.revision == 1
    assert not next(iter(reextract(store))).changes  # a second run finds nothing to change


def test_reextract_dry_run_and_filters(sqlite_url: str) -> None:
    migrate.upgrade(sqlite_url)
    store = Store.from_url(sqlite_url)
    store.sync_sources([FakeSource()])
    article_id = _stored_from_page(store)
    with store.transaction() as session:
        session.execute(update(ArticleRow).where(ArticleRow.id == article_id).values(title="Old title"))
    runner = CliRunner()
    result = runner.invoke(reextract_cmd, ["--dry-run", "--db", sqlite_url])
    assert result.exit_code == 0, result.output
    assert 'title: "Old title" → "وزير الطاقة' in result.output and "would change 1" in result.output
    with store.sessions() as session:
        assert session.get_one(ArticleRow, article_id).title == "Old title"
    result = runner.invoke(reextract_cmd, ["--source", "other", "--db", sqlite_url])
    assert "re-extracted 0 articles" in result.output
    result = runner.invoke(reextract_cmd, ["--json", "--db", sqlite_url])
    assert result.exit_code == 0 and '"title": ["Old title"' in result.output
    with store.sessions() as session:
        assert session.get_one(ArticleRow, article_id).title != "Old title"


def test_reextract_needs_no_network(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    _stored_from_page(store)

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("reextract tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    if store.engine.dialect.name == "postgresql":
        pytest.skip("the PostgreSQL connection itself is a socket")
    assert len(list(reextract(store))) == 1


def test_articles_without_capture_are_skipped(store: Store, tmp_path: Path) -> None:
    from tests.test_store_backends import make_item

    store.save_article(make_item(1))
    assert list(reextract(store)) == []
