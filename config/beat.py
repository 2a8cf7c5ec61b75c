"""One beat at a time, across every machine: a lock in Redis says which beat dispatches.

Celery has no such guard: two ``celery beat`` processes (a second machine
started with the same units, a restart that overlaps the old process) would
each publish every periodic task. Each beat here runs Celery's own
``PersistentScheduler``, but only while it holds ``tocsin:beat:leader`` in
the broker's Redis: a key set with ``SET NX PX`` (redis-py's ``Lock``) whose
value names the holder (host, process id) and whose expiry the holder pushes
back at every tick. The others stand by and try again every few seconds:

- the leader stops cleanly (SIGTERM): it deletes the key, a standby leads
  within ``STANDBY_POLL_SECONDS``;
- the leader's machine dies (SIGKILL, power): the key expires after
  ``TOCSIN_BEAT_LOCK_SECONDS`` (30) and a standby leads then;
- Redis is unreachable: nobody can publish anyway; every beat keeps running,
  and one leads again once Redis answers.

The periodic tasks stay safe to run twice (row locks, claims, ``expires``), so
a lock lost in the middle of a tick (a process frozen longer than the expiry)
costs one extra round of idempotent work, never a second email.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from typing import Any

import redis
from celery.beat import PersistentScheduler
from redis.exceptions import LockError

from config.env import env_float

logger = logging.getLogger(__name__)

LOCK_KEY = "tocsin:beat:leader"
STANDBY_POLL_SECONDS = 2.0


class SingleBeatScheduler(PersistentScheduler):
    """Celery's file-backed scheduler, dispatching only while this beat holds ``LOCK_KEY``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.lock_seconds = max(env_float("TOCSIN_BEAT_LOCK_SECONDS", 30.0), 3.0)
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._lock: Any = None
        self._leading: bool | None = None  # None until the first tick says which
        super().__init__(*args, **kwargs)

    def _redis_lock(self) -> Any:
        if self._lock is None:
            from config import health

            # Not thread-local: beat ticks and closes from different threads in some setups.
            self._lock = health.broker().lock(LOCK_KEY, timeout=self.lock_seconds, thread_local=False)
        return self._lock

    def _hold(self) -> bool:
        lock = self._redis_lock()
        try:
            try:
                # Push the expiry back if the key is still ours: after a tick, or after
                # an outage of a Redis that kept the key on disk.
                lock.reacquire()
                return True
            except LockError:
                pass  # never ours, expired while we were frozen, or taken: try like a standby
            return bool(lock.acquire(blocking=False, token=self.holder))
        except (redis.RedisError, OSError) as error:
            logger.warning("beat: Redis does not answer, so nothing is dispatched: %s", error)
            return False

    def _announce(self, leading: bool) -> None:
        if leading == self._leading:
            return
        self._leading = leading
        if leading:
            logger.info("beat: %s leads (lock %s, %.0f s)", self.holder, LOCK_KEY, self.lock_seconds)
            return
        try:
            from config import health

            other = health.broker().get(LOCK_KEY)
        except (redis.RedisError, OSError):
            other = None
        leader = other.decode() if isinstance(other, bytes) else str(other or "unknown")
        logger.info("beat: %s stands by; the leader is %s", self.holder, leader)

    def tick(self, *args: Any, **kwargs: Any) -> float:
        leading = self._hold()
        self._announce(leading)
        if not leading:
            return STANDBY_POLL_SECONDS
        # Back well before the key expires, however far off the next task is.
        return min(float(super().tick(*args, **kwargs)), self.lock_seconds / 3)

    def close(self) -> None:
        if self._leading and self._lock is not None:
            try:
                self._lock.release()
                logger.info("beat: %s stopped leading", self.holder)
            except (LockError, redis.RedisError, OSError) as error:
                logger.info("beat: the lock was not released (it expires by itself): %s", error)
            self._leading = False
        super().close()
