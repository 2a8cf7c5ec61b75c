"""Readiness (``GET /readyz``) and the worker heartbeat it reads.

``/healthz`` only says the web process answers (liveness: restart it if
not). ``/readyz`` says whether Tocsin can do its work: the database answers,
the broker answers, and at least one Celery worker said it was alive within
``WORKER_FRESH_SECONDS``. A load balancer may poll it every few seconds, so
it costs one ``SELECT 1`` and two Redis commands: workers write a heartbeat
(a sorted set of node names scored by Redis's own clock) instead of being
asked with a ``celery inspect`` broadcast on every request.
"""

from __future__ import annotations

import logging
from functools import lru_cache

import redis
from django.conf import settings
from django.db import DatabaseError, InterfaceError, connection

logger = logging.getLogger(__name__)

HEARTBEAT_KEY = "tocsin:workers:heartbeat"
HEARTBEAT_SECONDS = 15.0
WORKER_FRESH_SECONDS = 60
# Node names that stopped beating a day ago are dropped from the set.
_FORGET_SECONDS = 86_400


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    # Short timeouts: a Redis that stops answering makes /readyz say so
    # within a second, rather than hang the prober.
    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1, retry_on_timeout=False)


def broker() -> redis.Redis:
    return _client(settings.CELERY_BROKER_URL)


def record_heartbeat(node: str) -> None:
    """A worker is alive (called by the worker's Heartbeat bootstep, config/celery.py)."""
    try:
        client = broker()
        now, _microseconds = client.time()
        pipe = client.pipeline()
        pipe.zadd(HEARTBEAT_KEY, {node: now})
        pipe.zremrangebyscore(HEARTBEAT_KEY, "-inf", now - _FORGET_SECONDS)
        pipe.execute()
    except (redis.RedisError, OSError) as error:
        # The worker is reconnecting to the same Redis; /readyz says "broker".
        logger.info("heartbeat of %s not recorded: %s", node, error)


def forget_worker(node: str) -> None:
    """A worker shutting down stops counting at once, not a minute later."""
    try:
        broker().zrem(HEARTBEAT_KEY, node)
    except (redis.RedisError, OSError) as error:
        logger.info("heartbeat of %s not removed: %s", node, error)


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except (DatabaseError, InterfaceError) as error:
        logger.warning("readiness: the database does not answer: %s", error)
        return False
    return True


def fresh_workers() -> list[str] | None:
    """The node names that beat within WORKER_FRESH_SECONDS; None when the broker does not answer."""
    try:
        client = broker()
        now, _microseconds = client.time()
        names = client.zrangebyscore(HEARTBEAT_KEY, now - WORKER_FRESH_SECONDS, "+inf")
    except (redis.RedisError, OSError) as error:
        logger.warning("the broker does not answer: %s", error)
        return None
    return sorted(name.decode() if isinstance(name, bytes) else str(name) for name in names)


def live_workers() -> int | None:
    """How many workers beat within WORKER_FRESH_SECONDS; None when the broker does not answer."""
    try:
        client = broker()
        now, _microseconds = client.time()
        return int(client.zcount(HEARTBEAT_KEY, now - WORKER_FRESH_SECONDS, "+inf"))
    except (redis.RedisError, OSError) as error:
        logger.warning("readiness: the broker does not answer: %s", error)
        return None


def readiness() -> dict[str, str]:
    """``{"database", "broker", "workers"}``, each "ok" or "down"."""
    workers = live_workers()
    return {
        "database": "ok" if database_ok() else "down",
        "broker": "ok" if workers is not None else "down",
        "workers": "ok" if workers else "down",
    }
