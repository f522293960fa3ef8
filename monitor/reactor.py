"""Reactor helpers that never install a reactor at import time (Scrapy installs the asyncio one itself).

The project runs on Scrapy's default ``TWISTED_REACTOR`` (AsyncioSelectorReactor): asyncio primitives work in
coroutine components.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import Any, TypeVar, cast

from scrapy.utils.defer import deferred_to_future

T = TypeVar("T")


async def sleep(seconds: float) -> None:
    """Wait without blocking the reactor thread."""
    from twisted.internet import reactor
    from twisted.internet.task import deferLater

    await deferred_to_future(deferLater(reactor, seconds, lambda: None))


def call_soon(func: Callable[..., Any], *args: Any) -> None:
    """Schedule a call on the running reactor's next turn."""
    from twisted.internet import reactor

    cast(Any, reactor).callLater(0, func, *args)


async def wait_future(future: concurrent.futures.Future[T]) -> T:
    """Await a concurrent.futures future (a worker thread or process) without blocking the reactor thread."""
    return await asyncio.wrap_future(future)
