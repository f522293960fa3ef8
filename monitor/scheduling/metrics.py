"""Prometheus metrics of `monitor run`, served in the text format on 127.0.0.1 (prometheus-client).

The crawls run in child processes; after each cycle the parent reads the child's summary (``crawl
--stats-json``) and adds it to these counters, so they count over the scheduler's whole life.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest, start_http_server

# The extraction stage's stats (monitor.pipelines.ExtractPipeline): CPU seconds summed over pages, and pages.
EXTRACT_SECONDS_KEY = "monitor/extract/seconds_total"
EXTRACT_COUNT_KEY = "monitor/extract/count"


class RunMetrics:
    """The scheduler's counters and gauges, in their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        reg = self.registry
        self.polls = Counter("monitor_polls", "Feed polls (any outcome)", registry=reg)
        self.not_modified = Counter(
            "monitor_polls_not_modified", "Polls answered 304 or with an unchanged body", registry=reg
        )
        self.articles = Counter("monitor_articles_stored", "New articles stored", registry=reg)
        self.errors = Counter(
            "monitor_errors", "Fetch and parse errors by class", ["error_class"], registry=reg
        )
        self.extract_seconds = Counter(
            "monitor_extract_seconds", "Extractor CPU time, summed over pages", registry=reg
        )
        self.extracted = Counter("monitor_extracted_pages", "Pages through the extractor", registry=reg)
        self.cycles = Counter("monitor_cycles", "Crawl cycles by result", ["result"], registry=reg)
        self.due = Gauge("monitor_feeds_due", "Feeds due for a poll (queue depth)", registry=reg)
        self.cycle_seconds = Gauge("monitor_last_cycle_seconds", "Wall time of the last cycle", registry=reg)

    def observe(self, summary: Mapping[str, Any], result: str, seconds: float) -> None:
        """Add one crawl's summary (CrawlSummary as a dict) to the counters."""
        self.cycles.labels(result).inc()
        self.cycle_seconds.set(seconds)
        self.polls.inc(int(summary.get("feeds_polled", 0)))
        self.not_modified.inc(int(summary.get("feeds_not_modified", 0)))
        self.articles.inc(int(summary.get("articles_new", 0)))
        for error_class, count in (summary.get("errors") or {}).items():
            self.errors.labels(error_class).inc(int(count))
        stats = summary.get("stats") or {}
        self.extract_seconds.inc(float(stats.get(EXTRACT_SECONDS_KEY, 0)))
        self.extracted.inc(int(stats.get(EXTRACT_COUNT_KEY, 0)))

    def serve(self, port: int, host: str = "127.0.0.1") -> Any:
        """Serve /metrics on host:port in a daemon thread; returns the server (shutdown() to stop)."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        return server

    def text(self) -> str:
        """The metrics in the Prometheus text format."""
        return generate_latest(self.registry).decode("utf-8")
