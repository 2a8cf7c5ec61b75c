from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
import time_machine
from django.core.cache import cache


@pytest.fixture
def rate_limit_window():
    """Run the test from 1 s into a fresh hour, so a fresh minute too, with the clock ticking.

    The sign-up limits count in fixed windows (subscribers/ratelimit.py): a
    test whose requests straddled a minute boundary saw its count restart
    and no 429.
    """
    start = datetime.fromtimestamp((time.time() // 3600 + 1) * 3600 + 1, tz=UTC)
    with time_machine.travel(start, tick=True):
        yield


@pytest.fixture
def signup_isolation(rate_limit_window):
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


@pytest.fixture
def lists():
    """Two public lists and a private one, for the sign-up abuse tests."""
    from subscribers.models import MailingList

    MailingList.objects.create(slug="peru", name="Peru", position=1)
    MailingList.objects.create(slug="guatemala", name="Guatemala", position=2)
    MailingList.objects.create(slug="donors", name="Major donors", public=False, position=3)
