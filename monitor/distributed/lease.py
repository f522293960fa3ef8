"""Leased request queue on Redis: a pop moves a request into an in-flight set with a deadline instead of deleting it.

scrapy-redis pops destructively, so a worker killed mid-request loses what it held. Here every pop is atomic
(a Lua script) and leaves the request in two keys beside the queue until the worker acknowledges it:

- ``<queue>``         sorted set of pending requests (score = -priority, as scrapy-redis' PriorityQueue)
- ``<queue>:leases``  sorted set token -> deadline (Redis server time, so worker clocks need not agree)
- ``<queue>:leased``  hash token -> "<score>|<payload>" (what to put back)

`ack` forgets a finished request, `extend` is the heartbeat, `reap` (run by every worker) puts back the requests
whose deadline passed (their worker died or lost Redis for longer than a lease), and `requeue` puts back at once
what a worker gives up on when it stops. Redis-only; no Scrapy here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import redis

# Server time as a float, inside a script (Redis >= 5 replicates script effects, so TIME is allowed).
_NOW = "local t = redis.call('TIME'); local now = tonumber(t[1]) + tonumber(t[2]) / 1000000\n"
# Put the "<score>|<payload>" value of one leased token back into the queue.
_PUT_BACK = """
local function put_back(token)
  local v = redis.call('HGET', KEYS[3], token)
  if v then
    local sep = string.find(v, '|', 1, true)
    redis.call('ZADD', KEYS[1], tonumber(string.sub(v, 1, sep - 1)), string.sub(v, sep + 1))
    redis.call('HDEL', KEYS[3], token)
  end
  return redis.call('ZREM', KEYS[2], token)
end
"""
POP_SCRIPT = (
    _NOW
    + """
local item = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #item == 0 then return false end
redis.call('ZREM', KEYS[1], item[1])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], item[2] .. '|' .. item[1])
return item[1]
"""
)
EXTEND_SCRIPT = (
    _NOW
    + """
local held = 0
for i = 2, #ARGV do
  if redis.call('ZSCORE', KEYS[2], ARGV[i]) then
    redis.call('ZADD', KEYS[2], 'XX', now + tonumber(ARGV[1]), ARGV[i])
    held = held + 1
  end
end
return held
"""
)
REAP_SCRIPT = (
    _NOW
    + _PUT_BACK
    + """
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
for _, token in ipairs(expired) do put_back(token) end
return #expired
"""
)
REQUEUE_SCRIPT = (
    _PUT_BACK
    + """
local n = 0
for i = 1, #ARGV do n = n + put_back(ARGV[i]) end
return n
"""
)


@dataclass(frozen=True, slots=True)
class LeaseKeys:
    """The three Redis keys of one leased queue."""

    queue: str

    @property
    def leases(self) -> str:
        """Sorted set token -> deadline."""
        return f"{self.queue}:leases"

    @property
    def leased(self) -> str:
        """Hash token -> '<score>|<payload>'."""
        return f"{self.queue}:leased"

    def all(self) -> list[str]:
        """Queue, leases, leased (the KEYS of every script)."""
        return [self.queue, self.leases, self.leased]


class LeaseStore:
    """Push, leased pop, ack, heartbeat and reaping over one queue key (every method is one round trip)."""

    def __init__(self, server: redis.Redis, queue_key: str) -> None:
        self.server = server
        self.keys = LeaseKeys(queue_key)
        self._pop = server.register_script(POP_SCRIPT)
        self._extend = server.register_script(EXTEND_SCRIPT)
        self._reap = server.register_script(REAP_SCRIPT)
        self._requeue = server.register_script(REQUEUE_SCRIPT)

    def push(self, payload: bytes, score: float = 0.0) -> None:
        """Queue a payload; lower scores pop first (an identical payload already queued is not doubled)."""
        self.server.zadd(self.keys.queue, {payload: score})

    def pop(self, token: str, seconds: float) -> bytes | None:
        """Take the first payload under a lease named `token` that expires in `seconds`; None when empty."""
        data = self._pop(keys=self.keys.all(), args=[token, seconds])
        return bytes(data) if data else None

    def ack(self, tokens: Sequence[str]) -> None:
        """Forget finished requests."""
        if tokens:
            with self.server.pipeline(transaction=True) as pipe:
                pipe.zrem(self.keys.leases, *tokens)
                pipe.hdel(self.keys.leased, *tokens)
                pipe.execute()

    def extend(self, tokens: Sequence[str], seconds: float) -> int:
        """Move the deadlines of still-held leases to now + `seconds`; how many were still held."""
        if not tokens:
            return 0
        return int(self._extend(keys=self.keys.all(), args=[seconds, *tokens]))

    def reap(self, limit: int = 1000) -> int:
        """Put back up to `limit` requests whose lease expired; how many."""
        return int(self._reap(keys=self.keys.all(), args=[limit]))

    def requeue(self, tokens: Sequence[str]) -> int:
        """Put leased requests back now (a worker stopping with requests it did not finish)."""
        if not tokens:
            return 0
        return int(self._requeue(keys=self.keys.all(), args=list(tokens)))

    def pending(self) -> int:
        """Requests waiting in the queue."""
        return int(self.server.zcard(self.keys.queue))

    def in_flight(self) -> int:
        """Requests held under a lease by some worker."""
        return int(self.server.zcard(self.keys.leases))

    def clear(self) -> None:
        """Delete the queue and every lease."""
        self.server.delete(*self.keys.all())
