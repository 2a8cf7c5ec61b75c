"""The Redis cache, with one client per server for the process's life.

Django's ``RedisCache`` builds a ``redis.Redis`` client on every call (its
connection pool is kept, the client around it is not): on the signing path,
building it cost more CPU than the ``DEL`` it sent. A client is only a view on
its pool and is thread-safe, so one per server is kept and reused.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class _ReusedClients(RedisCacheClient):
    def __init__(self, servers: list[str], **options: Any) -> None:
        super().__init__(servers, **options)
        self._clients: dict[bool, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        # One for writes, one for reads (with replicas listed, reads stay on the one picked first).
        client = self._clients.get(write)
        if client is None:
            client = self._clients[write] = super().get_client(key, write=write)
        return client


class TocsinRedisCache(RedisCache):
    def __init__(self, server: str | list[str], params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _ReusedClients
