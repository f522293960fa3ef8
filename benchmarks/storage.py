"""Storage benchmark: articles stored per second through the writer (`Store.save_article` for batch size 1,
`Store.save_articles` otherwise) on SQLite and PostgreSQL, and database size per 10,000 articles with and without
raw captures.

Usage:
    python benchmarks/storage.py [--articles 2000] [--size-articles 10000] [--postgres URL] [--corpus DIR]
                                 [--skip-postgres] [--skip-sizes]

Each run uses fresh databases (a temporary SQLite file; a throwaway PostgreSQL database, dropped afterwards).
Article texts are synthetic (~600 words of random vocabulary, so dedup clusters stay singletons but the MinHash
and band index work is real). Capture bodies are real news pages read at run time from the evaluation corpus
(`htmldate_mediacloud2020/html/*.html.gz` under CORPUS_DIR, default ../shared/eval), else the demo outlets' pages.
"""

from __future__ import annotations

import argparse
import gzip
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from unittest.mock import patch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from monitor import dedup
from monitor.article import Article
from monitor.captures import save_captures
from monitor.items import ArticleItem, EntryContext, PageItem
from storage import migrate
from storage.db import make_engine
from storage.store import Store

REPO = Path(__file__).resolve().parents[1]
DEFAULT_PG = os.environ.get("MONITOR_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
BATCH_SIZES = (1, 100, 1000)
VOCAB = [f"kalima{i:05d}" for i in range(20000)]
FETCHED = datetime(2024, 11, 17, 9, 30, tzinfo=UTC)


@dataclass
class BenchSource:
    """The one source every benchmark article belongs to."""

    id: str = "bench"
    name: str = "Benchmark outlet"
    language: str = "ar"
    country: str | None = None
    timezone: str | None = None
    enabled: bool = True
    homepage: Any = None
    feeds: list[str] = field(default_factory=lambda: ["https://bench.example/feed.xml"])

    def polled(self) -> list[tuple[str, str, None]]:
        """(kind, URL, listing) like SourceConfig.polled: feeds only."""
        return [("feed", url, None) for url in self.feeds]


def article_text(n: int, words: int = 600) -> str:
    """Twelve paragraphs of random vocabulary, unlike any other article's."""
    rng = random.Random(n)
    return "\n".join(" ".join(rng.choice(VOCAB) for _ in range(words // 12)) for _ in range(12))


def make_item(n: int) -> ArticleItem:
    """Extracted article number n."""
    url = f"https://bench.example/news/{n}"
    published = datetime(2024, 11, 17, 8, 0, tzinfo=timezone(timedelta(hours=3)))
    art = Article(url, url, True, title=f"Headline {n}", lede=f"Lede {n}", text=article_text(n),
                  authors=["A. Writer"], published_at=published, language="ar")  # fmt: skip
    entry = EntryContext("bench", "https://bench.example/feed.xml", url, f"g{n}")
    return ArticleItem(entry, url, art, FETCHED)


def page_bodies(corpus: Path) -> list[bytes]:
    """Real article pages to use as capture bodies."""
    found = sorted((corpus / "htmldate_mediacloud2020" / "html").glob("*.html.gz"))
    if found:
        return [gzip.decompress(p.read_bytes()) for p in found]
    return [p.read_bytes() for p in sorted((REPO / "monitor" / "demo" / "outlets").rglob("*.html"))]


def make_page(n: int, bodies: list[bytes]) -> PageItem:
    """The fetched page of article n (a real page body, made unique by a comment)."""
    url = f"https://bench.example/news/{n}"
    entry = EntryContext("bench", "https://bench.example/feed.xml", url, f"g{n}")
    body = bodies[n % len(bodies)] + f"<!-- {n} -->".encode()
    headers = {"Content-Type": "text/html; charset=utf-8", "Date": "Sun, 17 Nov 2024 09:30:00 GMT"}
    return PageItem(entry, url, 200, headers, body, FETCHED, default_tz="Asia/Damascus")


@contextmanager
def database(kind: str, pg_url: str) -> Iterator[str]:
    """A fresh, migrated database URL of one kind, removed afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            migrate.upgrade(url)
            yield url
        return
    name = f"monitor_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(make_url(pg_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(pg_url).set(database=name).render_as_string(hide_password=False)
        migrate.upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def open_store(url: str) -> Store:
    """A store with the benchmark source synced."""
    store = Store(make_engine(url))
    store.sync_sources([BenchSource()])
    return store


def write(store: Store, numbers: range, batch: int) -> float:
    """Seconds to store the articles `numbers` in batches of `batch`."""
    items = [make_item(n) for n in numbers]
    start = time.perf_counter()
    for i in range(0, len(items), batch):
        chunk = items[i : i + batch]
        if batch == 1:
            store.save_article(chunk[0])
        else:
            store.save_articles(chunk)
    return time.perf_counter() - start


def throughput(kind: str, pg_url: str, articles: int, batch: int, clustering: bool = True) -> float:
    """Articles per second on a fresh database (clustering=False stubs out near-duplicate clustering)."""
    with database(kind, pg_url) as url:
        store = open_store(url)
        with (
            nullcontext()
            if clustering
            else patch.object(dedup, "assign_cluster", lambda _session, _row: None)
        ):
            seconds = write(store, range(articles), batch)
        store.engine.dispose()
    return articles / seconds


def print_rates(title: str, kinds: list[str], args: argparse.Namespace, clustering: bool) -> None:
    """One table of articles/second, a row per backend, a column per batch size."""
    print(title)
    print(f"{'backend':<12}" + "".join(f"{'batch ' + str(b):>14}" for b in BATCH_SIZES))
    for kind in kinds:
        rates = [throughput(kind, args.postgres, args.articles, b, clustering) for b in BATCH_SIZES]
        print(f"{kind:<12}" + "".join(f"{r:>14.0f}" for r in rates), flush=True)


def db_bytes(store: Store) -> int:
    """Bytes the database takes (SQLite file after a checkpoint; PostgreSQL pg_database_size)."""
    with store.engine.connect() as conn:
        if store.engine.dialect.name == "sqlite":
            raw = conn.connection.driver_connection  # outside any transaction, or the checkpoint is refused
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
            pages = raw.execute("PRAGMA page_count").fetchone()[0]  # type: ignore[union-attr]
            return int(pages) * int(raw.execute("PRAGMA page_size").fetchone()[0])  # type: ignore[union-attr]
        return int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar() or 0)


def sizes(kind: str, pg_url: str, count: int, bodies: list[bytes]) -> tuple[float, float]:
    """(MB per 10,000 articles without captures, with captures)."""
    with database(kind, pg_url) as url:
        store = open_store(url)
        empty = db_bytes(store)
        write(store, range(count), 1000)
        without = db_bytes(store) - empty
        for i in range(0, count, 500):
            save_captures(store, [make_page(n, bodies) for n in range(i, min(count, i + 500))])
        with_captures = db_bytes(store) - empty
        store.engine.dispose()
    scale = 10_000 / count / 1e6
    return without * scale, with_captures * scale


def main() -> int:
    """Run and print the figures side by side."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000, help="articles per throughput run")
    parser.add_argument("--size-articles", type=int, default=10_000, help="articles for the size measurement")
    parser.add_argument("--postgres", default=DEFAULT_PG, help="PostgreSQL admin URL (a database is created)")
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "eval")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sizes", action="store_true", help="only the throughput tables")
    args = parser.parse_args()
    kinds = ["sqlite"] + ([] if args.skip_postgres else ["postgresql"])
    bodies = page_bodies(args.corpus)
    what = f"{args.articles} articles per run, ~600 words each"
    print_rates(f"articles stored per second, full writer with clustering ({what})", kinds, args, True)
    print_rates(f"\nstorage only, clustering stubbed out ({what})", kinds, args, False)
    if args.skip_sizes:
        return 0
    mean_page = sum(map(len, bodies)) / len(bodies) / 1024
    print(
        f"\ndatabase size per 10,000 articles ({len(bodies)} real pages as captures, mean {mean_page:.0f} KiB)"
    )
    print(f"{'backend':<12}{'articles only':>16}{'with captures':>16}{'captures':>12}")
    for kind in kinds:
        without, with_caps = sizes(kind, args.postgres, args.size_articles, bodies)
        print(f"{kind:<12}{without:>13.1f} MB{with_caps:>13.1f} MB{with_caps - without:>9.1f} MB", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
