"""A global send rate shared by every worker: a token bucket in Redis.

One Lua script takes a token atomically on the Redis server, using the
server's clock, so any number of worker processes on any number of machines
add up to ``TOCSIN_SEND_RATE`` messages per second. The bucket may go into
debt: the caller is told how long to wait for its token, which keeps the
order fair and needs one round trip per message.
"""

from __future__ import annotations

import time
from functools import lru_cache

import redis
from django.conf import settings

_TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate) - want
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 60)
if tokens >= 0 then return '0' end
return tostring(-tokens / rate)
"""


@lru_cache(maxsize=4)
def redis_client(url: str) -> redis.Redis:
    """One Redis client per URL per process, shared by the throttle and the send statistics."""
    return redis.Redis.from_url(url)


class Throttle:
    """``Throttle().wait()`` before each message; a no-op when the rate is 0 (unlimited)."""

    def __init__(self, *, rate: float | None = None, burst: float | None = None, key: str | None = None) -> None:
        self.rate = settings.TOCSIN_SEND_RATE if rate is None else rate
        configured_burst = settings.TOCSIN_SEND_BURST if burst is None else burst
        self.burst = configured_burst or max(self.rate, 1.0)
        self.key = key or f"tocsin:throttle:{settings.ESP or 'smtp'}"
        self._script = None
        if self.rate > 0:
            self._script = redis_client(settings.REDIS_URL).register_script(_TAKE)

    @property
    def unlimited(self) -> bool:
        return self._script is None

    def take(self, tokens: int = 1) -> float:
        """Take ``tokens`` now; return the seconds to wait before using them."""
        if self._script is None:
            return 0.0
        return float(self._script(keys=[self.key], args=[self.rate, self.burst, tokens]))

    def wait(self, tokens: int = 1) -> float:
        delay = self.take(tokens)
        if delay > 0:
            time.sleep(delay)
        return delay
