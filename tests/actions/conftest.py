from __future__ import annotations

import contextlib

import pytest
import redis
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_cache_and_in_process_tasks():
    """Fresh rate-limit counters; the confirmation email task runs in-process at commit.

    The queue itself is exercised by tests/e2e/ with a real worker.
    """
    from config.celery import app

    cache.clear()
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False
    # A test of a Redis outage may still have its unreachable cache in place here.
    with contextlib.suppress(redis.RedisError):
        cache.clear()
