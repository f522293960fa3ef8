"""Extraction in worker processes: same result as in-process, bounded in-flight work, crash recovery, no
orphans, and the ExtractPipeline recording failures as data."""

from __future__ import annotations

import asyncio
import itertools
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler
from sqlalchemy import select

from monitor.article import Article
from monitor.errors import ErrorClass
from monitor.extract_pool import ExtractFailed, ExtractJob, ExtractPool, ExtractResult, run_job
from monitor.items import ArticleItem
from monitor.pipelines import ExtractPipeline
from monitor.scheduling.metrics import EXTRACT_COUNT_KEY, EXTRACT_SECONDS_KEY
from storage import migrate
from storage.models import FetchLog
from tests.conftest import REPO
from tests.test_captures import PAGE, URL, page
from tests.test_store_backends import FakeSource

JOB = ExtractJob(PAGE, URL, "Asia/Damascus", {"language": "ar"}, "utf-8")


# -- worker functions (module level: the forkserver imports them by name) ----------------------------------


def pid_job(job: ExtractJob) -> ExtractResult:
    """The worker's pid, as the article URL."""
    return ExtractResult(Article(str(os.getpid()), job.url, True), 0.0)


def timed_job(job: ExtractJob) -> ExtractResult:
    """Sleep 0.2 s and report when it ran, as `start end` in the title."""
    start = time.time()
    time.sleep(0.2)
    return ExtractResult(Article(job.url, job.url, True, title=f"{start} {time.time()}"), 0.2)


def crash_once_job(job: ExtractJob) -> ExtractResult:
    """Kill the worker the first time a marker file (the job's URL) is missing; extract normally after."""
    marker = Path(job.url)
    if not marker.exists():
        marker.touch()
        os._exit(3)
    return ExtractResult(Article(job.url, job.url, True), 0.0)


def crash_job(job: ExtractJob) -> ExtractResult:
    """Kill the worker every time."""
    os._exit(3)


def slow_job(job: ExtractJob) -> ExtractResult:
    """A page that takes half a second."""
    time.sleep(0.5)
    return ExtractResult(Article(job.url, job.url, True), 0.5)


def failing_job(job: ExtractJob) -> ExtractResult:
    """An extractor bug."""
    raise ValueError("no tree")


def run(pool: ExtractPool, *jobs: ExtractJob) -> list[ExtractResult]:
    """Run jobs concurrently on a fresh event loop, closing the pool afterwards."""

    async def main() -> list[ExtractResult]:
        return list(await asyncio.gather(*(pool.run(job) for job in jobs)))

    try:
        return asyncio.run(main())
    finally:
        pool.close()


# -- tests ------------------------------------------------------------------------------------------------


def test_jobs_and_results_cross_process_boundaries() -> None:
    result = run_job(JOB)
    assert pickle.loads(pickle.dumps(JOB)) == JOB
    again = pickle.loads(pickle.dumps(result))
    assert again == result and again.article.published_at is not None and result.seconds > 0
    assert result.article.is_article and result.article.language == "ar"


def test_worker_extracts_the_same_article_in_another_process() -> None:
    (in_worker,) = run(ExtractPool(1), JOB)
    assert in_worker.article == run_job(JOB).article
    (pid,) = run(ExtractPool(1, func=pid_job), JOB)
    assert int(pid.article.url) != os.getpid()


def test_zero_workers_extracts_in_process() -> None:
    (result,) = run(ExtractPool(0, func=pid_job), JOB)
    assert int(result.article.url) == os.getpid()


def test_in_flight_jobs_are_bounded() -> None:
    jobs = [replace(JOB, url=f"u{i}") for i in range(4)]
    spans = [tuple(map(float, r.article.title.split())) for r in run(ExtractPool(2, 1, timed_job), *jobs)]
    spans.sort()
    assert all(end <= next_start for (_, end), (next_start, _) in itertools.pairwise(spans))
    spans = sorted(
        tuple(map(float, r.article.title.split())) for r in run(ExtractPool(2, 0, timed_job), *jobs)
    )
    assert any(end > next_start for (_, end), (next_start, _) in itertools.pairwise(spans))


def test_a_crashed_worker_is_replaced_and_its_pages_retried(tmp_path: Path) -> None:
    pool = ExtractPool(2, func=crash_once_job)
    crashing, other = replace(JOB, url=str(tmp_path / "m1")), replace(JOB, url=str(tmp_path / "m2"))
    (
        tmp_path / "m2"
    ).touch()  # only the first page kills its worker; the other is caught in the same breakage
    results = run(pool, crashing, other)
    assert [r.article.url for r in results] == [crashing.url, other.url]
    assert pool.restarts == 1


def test_a_page_that_kills_its_worker_twice_fails_loudly() -> None:
    pool = ExtractPool(1, func=crash_job)
    with pytest.raises(ExtractFailed, match="died twice"):
        run(pool, JOB)
    assert pool.restarts == 2


def test_extractor_exceptions_become_extract_failed() -> None:
    for workers in (0, 1):
        with pytest.raises(ExtractFailed, match="ValueError: no tree"):
            run(ExtractPool(workers, func=failing_job), JOB)


def test_close_waits_for_running_pages() -> None:
    pool = ExtractPool(1, func=slow_job)

    async def main() -> ExtractResult:
        task = asyncio.ensure_future(pool.run(JOB))
        await asyncio.sleep(0.1)
        pool.close()  # as close_spider does at the end of a crawl: the page in the worker still finishes
        return await task

    assert asyncio.run(main()).article.url == URL


ORPHAN_SCRIPT = """
import asyncio, sys, time
from monitor.extract_pool import ExtractJob, ExtractPool
from tests.test_extract_pool import pid_job
pool = ExtractPool(1, func=pid_job)
print(asyncio.run(pool.run(ExtractJob(b"", "x"))).article.url, flush=True)
time.sleep(60)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_workers_ignore_sigterm_and_die_with_their_parent() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(ORPHAN_SCRIPT)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    worker = int(parent.stdout.readline())
    os.kill(worker, signal.SIGTERM)  # a stray SIGTERM (e.g. to the process group) is left to the parent
    time.sleep(0.5)
    assert _alive(worker)
    parent.kill()  # the crawler dies without a chance to shut the pool down
    parent.wait()
    deadline = time.monotonic() + 10
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(worker)


@pytest.fixture
def pipeline(sqlite_url: str) -> ExtractPipeline:
    migrate.upgrade(sqlite_url)
    crawler = get_crawler(settings_dict={"MONITOR_DATABASE_URL": sqlite_url, "MONITOR_EXTRACT_WORKERS": 1})
    crawler.stats.open_spider()
    pipe = ExtractPipeline.from_crawler(crawler)
    pipe.store.sync_sources([FakeSource()])
    pipe.open_spider()
    return pipe


def _errors(pipe: ExtractPipeline) -> list[str | None]:
    with pipe.store.sessions() as session:
        return list(session.scalars(select(FetchLog.error_class)))


def test_pipeline_extracts_in_a_worker_and_counts_the_time(pipeline: ExtractPipeline) -> None:
    item = page()
    out = asyncio.run(pipeline.process_item(item))
    assert asyncio.run(pipeline.process_item("not a page")) == "not a page"
    pipeline.close_spider()
    assert isinstance(out, ArticleItem) and out.page is item
    assert out.article.title == "وزير الطاقة يعلن خطة لصيانة مصفاة حمص"
    stats = pipeline.stats
    assert stats.get_value(EXTRACT_COUNT_KEY) == 1 and stats.get_value("monitor/extract/workers") == 1
    assert 0 < stats.get_value(EXTRACT_SECONDS_KEY) < 30  # what monitor run exports as metrics


def test_pipeline_records_non_articles_and_failures(pipeline: ExtractPipeline) -> None:
    with pytest.raises(DropItem, match="not an article"):
        asyncio.run(pipeline.process_item(page(b"<html><body></body></html>")))
    pipeline.pool.func = crash_job
    with pytest.raises(DropItem, match=r"extraction failed .*died twice.* fetched again next run"):
        asyncio.run(pipeline.process_item(page()))
    pipeline.close_spider()
    assert sorted(_errors(pipeline)) == [ErrorClass.EXTRACT_FAILED.value, ErrorClass.NOT_ARTICLE.value]
    assert pipeline.stats.get_value(ErrorClass.EXTRACT_FAILED.stats_key) == 1
    assert pipeline.stats.get_value("monitor/extract/pool_restarts") == 2
