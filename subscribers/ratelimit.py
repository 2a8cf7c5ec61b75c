"""Per-IP rate limits for the public sign-up endpoints.

Fixed windows counted in Django's cache: Redis in production, so every web
process shares the counts (a per-process counter would multiply the limit by
the number of gunicorn workers); locmem in unit tests.

While Redis is unreachable each process counts on its own instead: the
limit still holds, only looser by the number of web processes, and a
sign-up never fails because the cache is down.
"""

from __future__ import annotations

import ipaddress
import logging
import time

import redis
from django.conf import settings
from django.core.cache import BaseCache, cache
from django.core.cache.backends.locmem import LocMemCache
from django.http import HttpRequest

logger = logging.getLogger(__name__)

_fallback = LocMemCache("tocsin-signup-rate-fallback", {"OPTIONS": {"MAX_ENTRIES": 10_000}})


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"rate limited, retry after {retry_after}s")
        self.retry_after = retry_after


def client_ip(request: HttpRequest) -> str | None:
    """The address of the person, not of our reverse proxy.

    X-Forwarded-For is only believed when TOCSIN_TRUSTED_PROXY_COUNT says how
    many proxies of ours append to it: anyone can send the header, so only the
    entry written by our outermost proxy (counting from the right) is trusted;
    entries further left were written by the client itself.
    """
    proxies = settings.TOCSIN_TRUSTED_PROXY_COUNT
    candidate = request.META.get("REMOTE_ADDR", "")
    if proxies > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if forwarded:
            candidate = forwarded[-proxies] if len(forwarded) >= proxies else forwarded[0]
    return _parse_ip(candidate)


def _parse_ip(value: str) -> str | None:
    # Some proxies write "203.0.113.7:51234" or "[2001:db8::1]:443".
    if value.startswith("[") and "]" in value:
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def _bucket(ip: str | None) -> str:
    if ip is None:
        return "unknown"
    address = ipaddress.ip_address(ip)
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        # One IPv6 host usually owns a whole /64: limiting single addresses
        # would let it rotate through 2**64 of them.
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(address)


def _hit(store: BaseCache, key: str, *, limit: int, window: int, now: float) -> int | None:
    """Count one hit; the seconds to wait when over ``limit``, else None."""
    slot = int(now // window)
    cache_key = f"rl:{key}:{window}:{slot}"
    # add() is a no-op when the key exists, and incr() is atomic in Redis,
    # so two racing requests can never both read the same count.
    store.add(cache_key, 0, timeout=window + 5)
    try:
        count = store.incr(cache_key)
    except ValueError:  # expired between add() and incr()
        store.set(cache_key, 1, timeout=window + 5)
        count = 1
    if count > limit:
        return max(1, int((slot + 1) * window - now))
    return None


def _count(store: BaseCache, bucket: str, *, now: float) -> list[int | None]:
    return [
        _hit(store, f"signup:{bucket}", limit=settings.TOCSIN_SIGNUP_PER_MINUTE, window=60, now=now),
        _hit(store, f"signup:{bucket}", limit=settings.TOCSIN_SIGNUP_PER_HOUR, window=3600, now=now),
    ]


def check_signup_rate(request: HttpRequest) -> None:
    """Count this sign-up attempt; raise RateLimited when the IP is over its limits."""
    if not settings.TOCSIN_SIGNUP_RATE_LIMIT:
        return
    bucket = _bucket(client_ip(request))
    now = time.time()
    try:
        waits = _count(cache, bucket, now=now)
    except redis.RedisError as error:
        logger.warning("sign-up rate limit: Redis unreachable (%s); counting in this process", error)
        waits = _count(_fallback, bucket, now=now)
    over = [wait for wait in waits if wait is not None]
    if over:
        raise RateLimited(retry_after=max(over))
