"""Distributed crawling benchmark: articles stored per second with 1, 2 and 4 `monitor worker` processes against
generated local outlets, and Redis memory per 1M seen URLs in the bounded seen-set.

Usage:
    python benchmarks/distributed.py [--workers 1,2,4] [--feeds 8] [--per-feed 60] [--seen 200000]
                                     [--postgres URL] [--redis URL] [--skip-crawl] [--skip-seen]

Each crawl run gets a fresh PostgreSQL database (dropped afterwards) and its own Redis key prefix, enqueues every
feed, starts the workers (subprocesses, full pipeline: captures, extraction, dedup, storage) and times until every
article is stored. "steady" counts from the first article stored to the last (process start-up excluded);
"wall" from starting the workers. Article pages are generated (~560 words of random vocabulary, a byline, a
date, and ~100 KB of menus and scripts around them) and served from 127.0.0.1 without delay, so the figures are
CPU-bound; the server, PostgreSQL and Redis share the machine with the workers, so on 2 cores the curve
flattens at 2 workers. Idle workers look at the queue every 5 s (Scrapy's engine heartbeat), so short runs
understate the gain from more workers. The seen-set figure inserts N fingerprints through TimeBucketDupeFilter and reads
MEMORY USAGE, next to scrapy-redis' own RFPDupeFilter format (40 hex characters per URL) for comparison.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from html import escape
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redis
import yaml
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from monitor.config import load_sources
from monitor.demo.server import OutletServer, Reply
from monitor.distributed.dupefilter import TimeBucketDupeFilter
from monitor.distributed.producer import enqueue_feeds
from storage.models import ArticleRow
from storage.store import Store

REPO = Path(__file__).resolve().parents[1]
DEFAULT_PG = os.environ.get("MONITOR_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
DEFAULT_REDIS = os.environ.get("MONITOR_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
VOCAB = [f"kalima{i:05d}" for i in range(20000)]
# Page furniture around the article (menus, link lists, an inline script), so pages weigh what news pages do
# (~100 KB; the evaluation corpus' pages average 151 KiB) and extraction costs what it costs on them.
MENU = "".join(
    f"<li><a href='/section/{n}'>Section {n} headline about regional affairs {n}</a></li>" for n in range(600)
)
FURNITURE = (
    f"<nav class='mega-menu'><ul>{MENU}</ul></nav>",
    f"<aside class='most-read'><ol>{MENU[: len(MENU) // 3]}</ol></aside>",
    "<script>window.__STATE__=" + '{"k":"' + "x" * 20000 + '"}' + "</script>",
)
WORKER_SETTINGS = {
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "False",
    "CONCURRENT_REQUESTS": "8",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "8",
    "ROBOTSTXT_OBEY": "False",
    "LOG_LEVEL": "WARNING",
}


class GeneratedOutlets(OutletServer):
    """`/gen/<run>/<feed>.xml`: RSS of `per_feed` items; `/gen/<run>/<feed>/<n>.html`: a generated article."""

    per_feed = 50

    def respond(self, method: str, raw_path: str, headers: Mapping[str, str]) -> Reply:
        """Generated feeds and articles; everything else as OutletServer."""
        parts = raw_path.split("?")[0].strip("/").split("/")
        if parts[0] != "gen" or len(parts) not in (3, 4):
            return super().respond(method, raw_path, headers)
        if len(parts) == 3:
            return Reply(
                200,
                self.feed(parts[1], parts[2].removesuffix(".xml")),
                {"Content-Type": "application/rss+xml"},
            )
        return Reply(200, article_page(raw_path), {"Content-Type": "text/html; charset=utf-8"})

    def feed(self, run: str, feed: str) -> bytes:
        """One feed's RSS."""
        items = "".join(
            f"<item><title>Story {feed}-{n}</title><link>{self.base_url}/gen/{run}/{feed}/{n}.html</link>"
            f"<pubDate>Mon, 18 Nov 2024 09:{n % 60:02d}:00 +0000</pubDate></item>"
            for n in range(self.per_feed)
        )
        return f"<rss version='2.0'><channel><title>Gen {feed}</title><link>/</link>{items}</channel></rss>".encode()


def article_page(path: str) -> bytes:
    """A realistic article page whose text is seeded by its path (distinct, so dedup keeps every one)."""
    rng = random.Random(path)
    paragraphs = "".join(
        "<p>" + " ".join(rng.choice(VOCAB) for _ in range(70)).capitalize() + ".</p>" for _ in range(8)
    )
    title = escape(" ".join(rng.choice(VOCAB) for _ in range(8)).capitalize())
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{title}</title></head><body>"
        f"<header>{FURNITURE[0]}</header>"
        f"<article><h1>{title}</h1><p class='byline'>By Nadia Salem</p>"
        f"<time datetime='2024-11-18T09:00:00+00:00'>18 November 2024</time>{paragraphs}</article>"
        f"{FURNITURE[1]}<footer>© 2024 Generated Ledger</footer>{FURNITURE[2]}</body></html>"
    ).encode()


@contextmanager
def database(pg_url: str) -> Iterator[str]:
    """A throwaway PostgreSQL database with the schema created."""
    name = f"monitor_bench_{uuid.uuid4().hex[:10]}"
    admin_url = make_url(pg_url).set(drivername="postgresql+psycopg")
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    try:
        Store.from_url(url).engine.dispose()
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def stored(store: Store) -> int:
    with store.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(ArticleRow)) or 0)


def crawl_run(
    server: GeneratedOutlets, workers: int, feeds: int, args: argparse.Namespace, folder: Path
) -> tuple[float, float]:
    """(steady articles/s, wall articles/s) for one run with `workers` processes."""
    run = uuid.uuid4().hex[:8]
    entries = [
        {
            "id": f"gen-{f}",
            "name": f"Generated {f}",
            "language": "en",
            "feeds": [f"{server.base_url}/gen/{run}/f{f}.xml"],
        }
        for f in range(feeds)
    ]
    sources = folder / f"sources-{run}.yaml"
    sources.write_text(yaml.safe_dump({"sources": entries}), encoding="utf-8")
    total, prefix = feeds * server.per_feed, f"bench-{run}"
    with database(args.postgres) as db:
        store = Store.from_url(db, create=False)
        enqueue_feeds(args.redis, load_sources(sources).sources, prefix=prefix)
        env = {**os.environ, "MONITOR_REDIS_URL": args.redis, "MONITOR_REDIS_PREFIX": prefix}
        sets = [a for k, v in WORKER_SETTINGS.items() for a in ("-s", f"{k}={v}")]
        command = [
            sys.executable,
            "-m",
            "monitor",
            "worker",
            "--sources",
            str(sources),
            "--db",
            db,
            "--idle-exit",
            "2",
            *sets,
        ]
        started = time.monotonic()
        procs = [
            subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(workers)
        ]
        first, count = None, 0
        while count < total and time.monotonic() - started < args.timeout:
            time.sleep(0.2)
            count = stored(store)
            if count and first is None:
                first = time.monotonic()
        done = time.monotonic()
        for proc in procs:
            proc.wait(timeout=60)
        store.engine.dispose()
        _delete_prefix(args.redis, prefix)
    if count < total:
        raise SystemExit(f"only {count}/{total} articles stored within {args.timeout}s")
    return total / (done - (first or started)), total / (done - started)


def _delete_prefix(url: str, prefix: str) -> None:
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def seen_memory(url: str, count: int) -> tuple[float, float]:
    """(MB per 1M URLs in TimeBucketDupeFilter, MB per 1M in scrapy-redis' hex format), from `count` URLs."""
    client = redis.Redis.from_url(url)
    base = f"bench-seen-{uuid.uuid4().hex[:8]}"
    seen = TimeBucketDupeFilter(client, base, window=6 * 3600, bucket=6 * 3600)
    hex_key = f"{base}-hex"
    try:
        for start in range(0, count, 5000):
            with client.pipeline(transaction=False) as pipe:
                for n in range(start, min(start + 5000, count)):
                    fingerprint = uuid.uuid5(uuid.NAMESPACE_URL, f"https://example.com/{n}").bytes
                    seen._seen(keys=[f"{base}:0"], args=[fingerprint, int(time.time()) + 3600], client=pipe)
                    pipe.sadd(hex_key, (fingerprint + fingerprint[:4]).hex())
                pipe.execute()
        ours = sum(client.memory_usage(k, samples=0) or 0 for k in client.scan_iter(match=f"{base}:*"))
        theirs = client.memory_usage(hex_key, samples=0) or 0
        scale = 1_000_000 / count / 1e6
        return ours * scale, theirs * scale
    finally:
        keys = list(client.scan_iter(match=f"{base}*"))
        if keys:
            client.delete(*keys)
        client.close()


def main() -> int:
    """Run and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2,4", help="comma-separated worker counts")
    parser.add_argument("--feeds", type=int, default=8)
    parser.add_argument("--per-feed", type=int, default=60)
    parser.add_argument("--seen", type=int, default=200_000, help="URLs inserted to measure the seen-set")
    parser.add_argument("--postgres", default=DEFAULT_PG)
    parser.add_argument("--redis", default=DEFAULT_REDIS)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--skip-crawl", action="store_true")
    parser.add_argument("--skip-seen", action="store_true")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    if not args.skip_crawl:
        GeneratedOutlets.per_feed = args.per_feed
        total = args.feeds * args.per_feed
        print(f"\narticles stored per second ({total} generated articles, {args.feeds} feeds, PostgreSQL)")
        print(f"{'workers':>8}{'steady':>10}{'wall':>10}{'speed-up':>10}")
        with GeneratedOutlets() as server, tempfile.TemporaryDirectory() as folder:
            base = None
            for workers in (int(w) for w in args.workers.split(",")):
                steady, wall = crawl_run(server, workers, args.feeds, args, Path(folder))
                base = base or steady
                print(f"{workers:>8}{steady:>10.1f}{wall:>10.1f}{steady / base:>9.2f}x", flush=True)
    if not args.skip_seen:
        ours, theirs = seen_memory(args.redis, args.seen)
        print(f"\nRedis memory per 1M seen URLs (measured on {args.seen:,}, MEMORY USAGE)")
        print(f"{'TimeBucketDupeFilter (16-byte fingerprints)':<46}{ours:>8.1f} MB")
        print(f"{'scrapy-redis RFPDupeFilter (40 hex chars)':<46}{theirs:>8.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
