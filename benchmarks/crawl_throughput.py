"""Crawl throughput benchmark (issue 7): end-to-end articles/s, the cost of an unchanged cycle, peak memory.

Usage:
    python benchmarks/crawl_throughput.py [--parts throughput,cycles,memory] [--feeds 20] [--per-feed 25]
        [--latency 0] [--cycle-feeds 5000] [--cycle-per-feed 1] [--articles 4000] [--workers N] [--json OUT]

Every crawl is a real `python -m monitor crawl` subprocess (fetch → extract → dedup → store, fresh SQLite file)
against generated outlets on 127.0.0.1 (`benchmarks/mock_outlets.py`), with politeness delays off.
- throughput: articles stored per second of crawl (Scrapy's elapsed time, start-up excluded; wall time incl.
  start-up also shown) with the worker pool and with ``MONITOR_EXTRACT_WORKERS=0``, beside bare
  ``trafilatura.extract()`` and our ``extract_article`` on the same page bytes in this one process.
- cycles: ``--cycle-feeds`` feeds of ``--cycle-per-feed`` new articles (default 1: the cheapest possible first
  cycle) crawled once, then again unchanged (all 304s).
- memory: peak RSS of the crawler process and peak PSS of the crawler plus its extraction workers, for crawls
  of ``--articles`` / 4 and ``--articles`` articles; the slope extrapolates to 100,000 articles.
The mock server runs in this process and takes CPU from the same cores (reported as "server CPU").
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import yaml

from benchmarks.mock_outlets import GeneratedOutlets, article_page

REPO = Path(__file__).resolve().parents[1]
CRAWL_SETTINGS = {
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "False",
    "CONCURRENT_REQUESTS": "32",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "32",
    "DOWNLOAD_TIMEOUT": "60",
}
_STAT = re.compile(r"'([\w/]+)': ([\d.]+)")
TARGET_SPEEDUP, TARGET_CYCLE, TARGET_RSS_MB = 1.6, 20.0, 1024.0


@dataclass(slots=True)
class CrawlRun:
    """One measured crawl."""

    label: str
    articles: int
    wall_s: float
    crawl_s: float
    extract_cpu_s: float
    not_modified: int
    peak_rss_mb: float
    peak_pss_total_mb: float
    server_cpu_s: float
    crawler_cpu_s: float

    @property
    def rate(self) -> float:
        """Articles stored per second of crawl."""
        return self.articles / self.crawl_s if self.crawl_s else 0.0

    def ceiling(self, cores: int) -> float:
        """Articles/s this crawl's measured CPU per article allows on `cores` idle cores: the reactor thread
        can use one core at most, and the crawler, its workers and the mock server share all of them."""
        n = max(self.articles, 1)
        reactor, total = self.crawler_cpu_s / n, (self.crawler_cpu_s + self.server_cpu_s) / n
        if self.label.endswith("pool"):
            total += self.extract_cpu_s / n
        return min(1 / reactor, cores / total) if reactor else 0.0


# -- memory of a process tree ----------------------------------------------------------------------------------


def _descendants(pid: int) -> list[int]:
    """pid and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def _kib(path: str, field: str) -> int:
    """A `Field:   N kB` value of a /proc file (0 if the process is gone)."""
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cpu_seconds(pid: int) -> float:
    """utime + stime of one process (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class MemorySampler(threading.Thread):
    """Samples the RSS of a process and the summed PSS of its tree every `interval` seconds."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_rss = self.peak_pss = 0
        self.cpu_s = 0.0  # user + system seconds of the crawler process itself (its reactor thread, mostly)
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.peak_rss = max(self.peak_rss, _kib(f"/proc/{self.pid}/status", "VmRSS"))
            pss = sum(_kib(f"/proc/{p}/smaps_rollup", "Pss") for p in _descendants(self.pid))
            self.peak_pss = max(self.peak_pss, pss)
            self.cpu_s = max(self.cpu_s, _cpu_seconds(self.pid))
            self.done.wait(self.interval)


# -- crawls --------------------------------------------------------------------------------------------------


def write_sources(folder: Path, server: GeneratedOutlets) -> Path:
    """One source per generated feed."""
    sources = [
        {"id": f"o{i}", "name": f"Outlet {i}", "language": "en", "timezone": "UTC", "feeds": [url]}
        for i, url in enumerate(server.feed_urls())
    ]
    path = folder / "sources.yaml"
    path.write_text(yaml.safe_dump({"sources": sources}), encoding="utf-8")
    return path


def crawl(label: str, db: str, sources: Path, settings: dict[str, str]) -> CrawlRun:
    """Run `monitor crawl` in a subprocess, sampling its memory; parse the stats Scrapy dumps at the end."""
    sets = [arg for k, v in {**CRAWL_SETTINGS, **settings}.items() for arg in ("-s", f"{k}={v}")]
    cmd = [
        sys.executable,
        "-m",
        "monitor",
        "crawl",
        "--sources",
        str(sources),
        "--db",
        db,
        "--no-progress",
        "-v",
    ]
    server_cpu, started = time.process_time(), time.monotonic()
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen([*cmd, *sets], cwd=REPO, stdout=subprocess.DEVNULL, stderr=log, text=True)
        sampler = MemorySampler(proc.pid)
        sampler.start()
        code = proc.wait()
        wall = time.monotonic() - started
        sampler.done.set()
        sampler.join()
        log.seek(0)
        output = log.read()
    if code != 0:
        raise SystemExit(f"{label}: crawl failed ({code}):\n{output[-3000:]}")
    stats = {k: float(v) for k, v in _STAT.findall(output[output.rfind("Dumping Scrapy stats") :])}
    return CrawlRun(
        label,
        int(stats.get("monitor/articles/new", 0)),
        wall,
        stats.get("elapsed_time_seconds", wall),
        stats.get("monitor/extract/seconds_total", 0.0),
        int(stats.get("monitor/feeds/not_modified", 0)),
        sampler.peak_rss / 1024,
        sampler.peak_pss / 1024,
        time.process_time() - server_cpu,
        sampler.cpu_s,
    )


def fresh_db(folder: Path, name: str) -> str:
    """A new SQLite file URL."""
    return f"sqlite:///{folder / name}.db"


# -- the three parts -----------------------------------------------------------------------------------------


def in_process_rates(server: GeneratedOutlets) -> dict[str, float]:
    """Pages/s of bare trafilatura.extract() and of our extract_article on the served pages, in this process."""
    import trafilatura

    from monitor.extract import extract_article

    base = server.base_url
    pages = [
        (f"{base}/o{o}/a{a}.html", article_page(base, o, a))
        for o in range(server.feeds)
        for a in range(server.articles)
    ]
    trafilatura.extract(pages[0][1])
    extract_article(pages[0][1], pages[0][0])
    rates = {}
    for name, func in (
        ("bare trafilatura.extract", lambda url, body: trafilatura.extract(body, url=url)),
        ("monitor extract_article", lambda url, body: extract_article(body, url)),
    ):
        started = time.perf_counter()
        for url, body in pages:
            func(url, body)
        rates[name] = len(pages) / (time.perf_counter() - started)
    return rates


def throughput(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """Part (a): crawl rates with and without the worker pool against the in-process extraction rates."""
    with GeneratedOutlets(args.feeds, args.per_feed, args.latency) as server:
        sources = write_sources(folder, server)
        workers = {} if args.workers is None else {"MONITOR_EXTRACT_WORKERS": str(args.workers)}
        pooled = crawl("crawl, worker pool", fresh_db(folder, "pool"), sources, workers)
        inline = crawl(
            "crawl, MONITOR_EXTRACT_WORKERS=0",
            fresh_db(folder, "inline"),
            sources,
            {"MONITOR_EXTRACT_WORKERS": "0"},
        )
        rates = in_process_rates(server)
    bare, cores = rates["bare trafilatura.extract"], os.cpu_count() or 1
    rows = [[name, f"{rate:.1f}", f"{rate / bare:.2f}×"] + [""] * 7 for name, rate in rates.items()]
    rows += [_rate_row(run, bare, cores) for run in (pooled, inline)]
    print_table(
        f"(a) articles/s, {args.feeds} feeds × {args.per_feed} articles, latency {args.latency}s"
        f" (target ≥ {TARGET_SPEEDUP}× bare); CPU in ms per stored article",
        ["", "articles/s", "× bare", "stored", "crawl s", "wall s", "crawler CPU", "extract CPU", "server CPU",
         "idle ceiling/s"],
        rows,
    )  # fmt: skip
    return {
        "in_process": rates,
        "crawls": [asdict(pooled), asdict(inline)],
        "speedup_vs_bare": pooled.rate / bare,
        "speedup_vs_inline": pooled.rate / inline.rate,
        "idle_ceiling": {run.label: run.ceiling(cores) for run in (pooled, inline)},
    }


def _rate_row(run: CrawlRun, bare: float, cores: int) -> list[str]:
    """One crawl's line of the throughput table."""
    ms = 1000 / max(run.articles, 1)
    return [
        run.label, f"{run.rate:.1f}", f"{run.rate / bare:.2f}×", str(run.articles), f"{run.crawl_s:.1f}",
        f"{run.wall_s:.1f}", f"{run.crawler_cpu_s * ms:.1f}", f"{run.extract_cpu_s * ms:.1f}",
        f"{run.server_cpu_s * ms:.1f}", f"{run.ceiling(cores):.1f}",
    ]  # fmt: skip


def cycles(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """Part (b): a first cycle over many feeds of ``--cycle-per-feed`` new articles each, then a second one over
    the same unchanged feeds (peak memory of both is shown: with 20 per feed the first stores 100,000)."""
    with GeneratedOutlets(args.cycle_feeds, args.cycle_per_feed, args.latency) as server:
        sources = write_sources(folder, server)
        db = fresh_db(folder, "cycles")
        first = crawl(f"first cycle ({args.cycle_per_feed} new articles per feed)", db, sources, {})
        second = crawl("second cycle (unchanged)", db, sources, {})
        statuses = dict(server.statuses)
    ratio = first.wall_s / second.wall_s
    rows = [
        [r.label, f"{r.wall_s:.1f}", f"{r.crawl_s:.1f}", str(r.articles), str(r.not_modified),
         f"{r.crawler_cpu_s:.1f}", f"{r.peak_rss_mb:.0f}", f"{r.peak_pss_total_mb:.0f}"]
        for r in (first, second)
    ]  # fmt: skip
    rows.append(
        ["first / second (wall)", f"{ratio:.1f}×", f"{first.crawl_s / second.crawl_s:.1f}×"] + [""] * 5
    )
    print_table(
        f"(b) {args.cycle_feeds} feeds, two cycles (target ≥ {TARGET_CYCLE}× cheaper); server statuses {statuses}",
        ["", "wall s", "crawl s", "stored", "304 / unchanged", "crawler CPU s", "crawler RSS MB",
         "crawler+workers PSS MB"],
        rows,
    )  # fmt: skip
    return {"first": asdict(first), "second": asdict(second), "wall_ratio": ratio, "statuses": statuses}


def memory(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """Part (c): peak memory at two crawl sizes, and the linear extrapolation to 100,000 articles."""
    runs = []
    for count in (max(args.articles // 4, 50), args.articles):
        per_feed = 50
        with GeneratedOutlets(max(count // per_feed, 1), per_feed, args.latency) as server:
            sources = write_sources(folder, server)
            runs.append(crawl(f"{count} articles", fresh_db(folder, f"mem{count}"), sources, {}))
    small, big = runs
    slope = (big.peak_pss_total_mb - small.peak_pss_total_mb) / max(big.articles - small.articles, 1)
    at_100k = big.peak_pss_total_mb + slope * (100_000 - big.articles)
    rows = [
        [r.label, str(r.articles), f"{r.peak_rss_mb:.0f}", f"{r.peak_pss_total_mb:.0f}", f"{r.rate:.1f}"]
        for r in runs
    ]
    rows.append(["100,000 (extrapolated)", "", "", f"{at_100k:.0f}", f"{slope * 1024:.1f} KiB/article"])
    print_table(
        f"(c) peak memory in MB (target ≤ {TARGET_RSS_MB:.0f} MB for 100,000 articles)",
        ["", "stored", "crawler RSS", "crawler+workers PSS", "articles/s"],
        rows,
    )
    return {
        "runs": [asdict(r) for r in runs],
        "slope_kib_per_article": slope * 1024,
        "extrapolated_100k_mb": at_100k,
    }


def print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    """A plain aligned table."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    print(f"\n{title}")
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))


def main() -> None:
    """Parse flags, run the selected parts, print tables (and JSON)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--parts", default="throughput,cycles,memory")
    parser.add_argument("--feeds", type=int, default=20, help="throughput: feeds")
    parser.add_argument("--per-feed", type=int, default=25, help="throughput: articles per feed")
    parser.add_argument(
        "--latency", type=float, default=0.0, help="seconds the server waits before each answer"
    )
    parser.add_argument(
        "--workers", type=int, default=None, help="MONITOR_EXTRACT_WORKERS (default: settings)"
    )
    parser.add_argument("--cycle-feeds", type=int, default=5000, help="cycles: number of feeds")
    parser.add_argument(
        "--cycle-per-feed", type=int, default=1, help="cycles: new articles per feed in the first cycle"
    )
    parser.add_argument("--articles", type=int, default=4000, help="memory: articles in the larger crawl")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    parts = {"throughput": throughput, "cycles": cycles, "memory": memory}
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}")
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="crawl-bench-") as tmp:
        for name in args.parts.split(","):
            results[name] = parts[name](args, Path(tmp))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
