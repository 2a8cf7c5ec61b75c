"""End-to-end fixtures: a real SMTP server and a real Celery worker.

``smtp_server`` is an aiosmtpd server on 127.0.0.1 that keeps every message it
receives as an ``EmailMessage`` (tests/support/smtp.py).
``celery_worker_process`` starts ``celery -A config worker`` as a subprocess
on the real Redis (REDIS_URL) and the PostgreSQL test database pytest-django
created, with EMAIL_URL pointing at ``smtp_server``: email really leaves the
worker over SMTP (tests/support/workers.py).

Tests that use the worker need ``@pytest.mark.worker`` (they skip without
PostgreSQL and Redis; CI fails on any skip) and
``@pytest.mark.django_db(transaction=True)``, so that what the test writes is
committed and visible to the worker's own connection.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from django.conf import settings

from tests.support.smtp import SMTPServer, collecting_server
from tests.support.workers import WorkerProcess, start_worker


@pytest.fixture
def smtp_server() -> Iterator[SMTPServer]:
    with collecting_server() as server:
        yield server


@pytest.fixture
def celery_worker_process(transactional_db: None, smtp_server: SMTPServer) -> Iterator[WorkerProcess]:
    """A real ``celery -A config worker`` on all three queues, mailing to ``smtp_server``."""
    # Tasks left in the queues by an earlier run would run against this test's
    # database. Only this Redis database is flushed: in development each
    # engineer uses a db number of their own (REDIS_URL=redis://…/N).
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    worker = start_worker(smtp_server.url, "e2e", recovery={})
    try:
        yield worker
    finally:
        worker.stop()
