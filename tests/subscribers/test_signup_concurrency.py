"""Racing sign-ups and shared rate limits: what only a real database and Redis show."""

from __future__ import annotations

import threading
import uuid

import pytest
import redis
from django.core import mail
from django.db import connection
from django.test import Client

from subscribers.models import Consent, MailingList, Subscriber
from subscribers.services import subscribe


@pytest.fixture
def eager_tasks():
    from config.celery import app

    app.conf.task_always_eager = True  # the email task runs in the committing thread
    yield
    app.conf.task_always_eager = False


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_racing_signups_for_one_new_address_send_one_email(eager_tasks, settings):
    MailingList.objects.create(slug="peru", name="Peru")
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def sign_up() -> None:
        try:
            barrier.wait(timeout=10)
            subscribe(email="ana@example.org", lists=["peru"], source=Consent.Source.FORM)
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=sign_up) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert Subscriber.objects.count() == 1
    assert Consent.objects.filter(action=Consent.Action.SIGNUP).count() == 2
    assert len(mail.outbox) == 1


@pytest.mark.redis
@pytest.mark.django_db
@pytest.mark.usefixtures("rate_limit_window")
def test_the_rate_limit_counts_in_redis(settings):
    """Every gunicorn process must see the same counts: the limit lives in Redis."""
    prefix = f"tocsin-test-{uuid.uuid4().hex}"  # fresh counts, and never a FLUSHDB of a shared Redis
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": settings.REDIS_URL,
            "KEY_PREFIX": prefix,
        }
    }
    try:
        MailingList.objects.create(slug="peru", name="Peru")
        first, second = Client(REMOTE_ADDR="192.0.2.10"), Client(REMOTE_ADDR="192.0.2.10")
        codes = []
        for n in range(6):
            browser = first if n % 2 else second  # two "processes", one client address
            data = {"email": f"p{n}@example.org", "lists": ["peru"], "language": "en"}
            codes.append(browser.post("/signup/", data).status_code)
        assert codes == [303] * 5 + [429]
    finally:
        client = redis.Redis.from_url(settings.REDIS_URL)
        keys = list(client.scan_iter(match=f"{prefix}:*"))
        if keys:
            client.delete(*keys)
