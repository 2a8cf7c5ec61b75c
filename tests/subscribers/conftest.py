from __future__ import annotations

import pytest
from django.core.cache import cache


@pytest.fixture
def signup_isolation():
    """Fresh rate-limit counters, and transactional email tasks run in-process at commit.

    These are unit tests of the services and views; the queue itself is
    exercised by tests/e2e/ with a real worker.
    """
    from config.celery import app

    cache.clear()
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False
    cache.clear()
