"""Scrapy settings for monitor: the whole component graph reads off this one module.

`monitor crawl` and `scrapy crawl feeds` (via scrapy.cfg) both use it; the CLI only overrides
``MONITOR_*`` values (database, sources file, watches) and the log level.
"""

from __future__ import annotations

import os

from monitor import __version__

BOT_NAME = "monitor"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"

# -- What the crawl reads and writes (environment first, so `scrapy crawl feeds` matches `monitor crawl`) -------
MONITOR_DATABASE_URL = os.environ.get("MONITOR_DATABASE_URL", "sqlite:///monitor.db")
MONITOR_SOURCES = os.environ.get("MONITOR_SOURCES", "sources.yaml")
MONITOR_SOURCE_IDS: list[str] = []
MONITOR_WATCHES = os.environ.get("MONITOR_WATCHES") or None
MONITOR_CONTACT_URL = os.environ.get("MONITOR_CONTACT_URL", "https://github.com/monitor-project/monitor")
MONITOR_ALLOW_PRIVATE_HOSTS: list[str] = []
MONITOR_RETRY_AFTER_MAX = 60
MONITOR_DB_RETRIES = 5
MONITOR_DB_RETRY_DELAY = 1.0
MONITOR_SQLITE_BACKGROUND_CHECKPOINTS = True
MONITOR_FETCHLOG_BATCH = 200
MONITOR_FETCHLOG_FLUSH_SECONDS = 2.0
# Story-clustering thresholds over monitor.dedup.settings.DedupSettings' defaults, e.g. {"jaccard_threshold": 0.6}.
MONITOR_DEDUP: dict[str, float] = {}
MONITOR_CAPTURES = (
    True  # raw page captures (monitor/capture_pipeline.py); `-s MONITOR_CAPTURES=False` to skip
)
# Sitemaps (spiders/feeds.py): URLs per document and children per index read per poll, newest first (Google News
# sitemaps hold at most 1,000 URLs), and how far before the last successful poll a `lastmod` still counts as new.
MONITOR_SITEMAP_MAX_URLS = 1000
MONITOR_SITEMAP_MAX_CHILDREN = 50
MONITOR_SITEMAP_LASTMOD_SLACK = 3600
# Article extraction runs in worker processes (0 = on the reactor thread); at most MAX_INFLIGHT pages are handed
# to them at once (0 = 2 per worker). See monitor/extract_pool.py.
MONITOR_EXTRACT_WORKERS = int(os.environ.get("MONITOR_EXTRACT_WORKERS") or os.cpu_count() or 1)
MONITOR_EXTRACT_MAX_INFLIGHT = 0

# -- Polling policy (monitor.scheduling.policy; seconds or durations like "6h"; `poll:` in the sources file
# overrides interval, bounds and conditional GET per source) ----------------------------------------------------
MONITOR_POLL_DEFAULT_INTERVAL = "6h"
MONITOR_POLL_MIN_INTERVAL = "10m"
MONITOR_POLL_MAX_INTERVAL = "1d"
MONITOR_POLL_DISABLE_AFTER = 30
MONITOR_POLL_REVIVE_INTERVAL = "7d"
MONITOR_POLL_VERIFY_AFTER = "1d"
MONITOR_POLL_DUE_ONLY = False

# -- Politeness ------------------------------------------------------------------------------------------------
USER_AGENT = f"monitor/{__version__} (+{MONITOR_CONTACT_URL})"
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 32
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 0.5
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 30
# Scrapy's default is 1 GiB; selectors parse without libxml2's size limits, so keep pages and feeds small.
DOWNLOAD_MAXSIZE = 32 * 1024 * 1024
DOWNLOAD_WARNSIZE = 8 * 1024 * 1024
REDIRECT_MAX_TIMES = 10
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]
# Back-pressure for the extraction pool: pages waiting for a worker stay in the scraper slot, and the engine
# schedules no new download while the slot holds more than this many response bytes (Scrapy's default, 5 MB).
SCRAPER_SLOT_MAX_ACTIVE_SIZE = 5_000_000
# Items processed at once per response. Our callbacks yield one page per article response and a few items per
# feed; Scrapy starts this many asyncio tasks for *every* response, so the default of 100 was pure reactor cost.
CONCURRENT_ITEMS = 8
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
# Scrapy re-reads a callback's source with `inspect` on every response to warn about `return value` in a
# generator; for bound methods its cache misses, which made a quarter of an unchanged feed's cost. Our callbacks
# are checked by ruff instead (rule B901, see pyproject.toml).
WARN_ON_GENERATOR_RETURN_VALUE = False

# Only http and https: a feed must not make us read local files (file://), data: URIs, FTP or S3.
DOWNLOAD_HANDLERS = {"file": None, "data": None, "ftp": None, "s3": None}

# -- The component graph (order = priority) ------------------------------------------------------------------
DOWNLOADER_MIDDLEWARES = {
    # Refuse non-http(s) schemes and private addresses before robots.txt is even fetched for them.
    "monitor.netguard.NetworkGuardMiddleware": 50,
    # Scrapy's retry replaced by one that honours Retry-After.
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "monitor.retry.RetryAfterMiddleware": 550,
}
ITEM_PIPELINES = {
    "monitor.pipelines.FetchLogPipeline": 100,
    "monitor.pipelines.FeedEntriesPipeline": 200,
    # Raw bytes + headers of every fetched page, before extraction (so `monitor reextract` can redo it).
    "monitor.capture_pipeline.CapturePipeline": 250,
    "monitor.pipelines.ExtractPipeline": 300,
    "monitor.pipelines.StorePipeline": 400,
    "monitor.alerts.pipeline.AlertPipeline": 500,
}

EXTENSIONS = {
    "monitor.progress.ProgressExtension": 500,
}
MONITOR_PROGRESS = False

# -- Distributed mode (`monitor worker`): monitor.distributed.worker_settings() swaps in scrapy-redis' scheduler
# with leases, the leased queue and the bounded seen-set, and sets REDIS_URL; these are its knobs.
MONITOR_LEASE_SECONDS = 60  # a popped request not renewed for this long goes back to the queue
MONITOR_RETRY_LATER = 30  # a request that failed on a lost database connection is retried after this
MONITOR_IDLE_EXIT = 0  # stop after the whole queue has been empty this long (0: never)
MONITOR_SEEN_WINDOW = 6 * 3600  # how long a queued URL counts as seen
MONITOR_SEEN_BUCKET = 3600  # seen-set bucket width (each bucket key expires on its own)

LOG_LEVEL = os.environ.get("MONITOR_LOG_LEVEL", "INFO")
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
FEED_EXPORT_ENCODING = "utf-8"
