"""scrapy-redis' PriorityQueue with leased pops (`monitor.distributed.lease`) and spider-defined serialisation.

Requests are pickled dicts as in scrapy-redis, but a spider may define ``to_queue(request) -> dict`` and
``from_queue(dict) -> Request | None`` to keep per-request context small and portable (the distributed feed
spider sends a source by id, not the whole SourceConfig). The lease token a worker attaches to a popped request
(``request.meta[LEASE_META]``) never travels back into the queue.
"""

from __future__ import annotations

import random
from typing import Any

from scrapy import Request
from scrapy.utils.request import request_from_dict
from scrapy_redis.queue import PriorityQueue

from monitor.distributed.lease import LeaseStore

LEASE_META = "monitor_lease"
# Equal scores pop in payload (that is, URL) order, which hands one outlet's whole burst of article requests to
# one worker, where they wait for its per-host slot. A random fraction below 1 interleaves outlets and keeps
# integer priorities strict.
TIE_SPREAD = 0.5


class LeasedQueue(PriorityQueue):
    """A per-spider priority queue whose pops are leases: see `take` and `LeaseStore`."""

    def __init__(self, server: Any, spider: Any, key: str, serializer: Any = None) -> None:
        super().__init__(server, spider, key, serializer)
        self.leases = LeaseStore(server, self.key)

    def _encode_request(self, request: Request) -> bytes:
        """The spider's `to_queue` dict (else Scrapy's `to_dict`), without the lease token, serialised."""
        pack = getattr(self.spider, "to_queue", None)
        obj = pack(request) if pack else request.to_dict(spider=self.spider)
        obj["meta"] = {k: v for k, v in obj.get("meta", {}).items() if k != LEASE_META}
        return bytes(self.serializer.dumps(obj))

    def decode(self, data: bytes) -> Request | None:
        """A popped payload as a Request (None when the spider cannot use it)."""
        obj = self.serializer.loads(data)
        unpack = getattr(self.spider, "from_queue", None)
        return unpack(obj) if unpack else request_from_dict(obj, spider=self.spider)

    def push(self, request: Request) -> None:
        """Queue a request: higher priority pops first (as in scrapy-redis), random order within a priority."""
        self.leases.push(self._encode_request(request), -request.priority + random.random() * TIE_SPREAD)

    def take(self, token: str, seconds: float) -> bytes | None:
        """Pop the next payload under a lease (`LeaseStore.pop`)."""
        return self.leases.pop(token, seconds)

    def pop(self, timeout: int = 0) -> Request | None:
        """Refused: a destructive pop is what leases exist to avoid."""
        raise NotImplementedError("LeasedQueue pops through LeasedScheduler (take + decode)")

    def clear(self) -> None:
        """Delete the queue and its leases."""
        self.leases.clear()
