"""Redis stopped: sign-ups, API calls and sends are answered and kept; they go out, once, when it is back.

The broker is a redis-server of the test's own (tests/support/outages.py), really
stopped while the requests arrive, then started again with a real worker
and a real beat on it: nothing in the test hands work over by hand.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from campaigns.models import Campaign
from outbox.models import OutboxMessage
from subscribers.models import MailingList, Subscriber, Subscription
from tests.support.factories import campaign
from tests.support.outages import celery_broker_at, own_redis
from tests.support.personas import admin, bearer, token_for
from tests.support.waiting import wait_until
from tests.support.workers import WorkerProcess, start_beat, start_worker, stop

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def broker(tmp_path, settings):
    """Our own Redis as broker and cache of this process (the web side) and of the worker and beat started later."""
    with own_redis(tmp_path / "redis") as server, celery_broker_at(server.url):
        settings.CELERY_BROKER_URL = server.url
        settings.CACHES = {
            "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": server.url}
        }
        yield server
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


ROUNDS = ("outbox.tasks.relay_outbox", "campaigns.tasks.sweep_sending")


def rounds(worker: WorkerProcess, task: str) -> int:
    """How many times ``worker`` has finished ``task`` (Celery logs each at INFO)."""
    return sum(f"Task {task}[" in line and " succeeded " in line for line in worker.output)


def test_with_the_broker_stopped_nothing_is_lost_and_everything_leaves_once_when_it_is_back(
    client, broker, smtp_server, tmp_path
):
    peru = MailingList.objects.create(slug="peru", name="Peru", public=True)
    reader = Subscriber.objects.create(email="reader@example.org", status=Subscriber.Status.CONFIRMED)
    Subscription.objects.create(subscriber=reader, mailing_list=peru)
    alert = campaign(lists=[peru], subject="Water defenders detained", kind=Campaign.Kind.ALERT)
    token = token_for(admin())

    broker.stop()

    def sign_up(url: str, email: str) -> int:
        return client.post(url, {"email": email, "name": "Ana", "lists": ["peru"], "language": "en"}).status_code

    assert sign_up("/signup/", "page@example.org") == 303
    assert sign_up("/signup/embed/submit/", "embed@example.org") == 303
    api = client.post(
        "/api/v1/subscribers",
        json.dumps({"email": "api@example.org", "lists": ["peru"], "consent_source": "crm", "double_opt_in": True}),
        content_type="application/json",
        **bearer(token),
    )
    assert api.status_code == 201, api.content
    send = client.post(f"/api/v1/campaigns/{alert.pk}/send", "{}", content_type="application/json", **bearer(token))
    assert send.status_code == 202, send.content
    assert send.json()["status"] == "sending"

    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json() == {"database": "ok", "broker": "down", "workers": "down"}
    assert OutboxMessage.objects.filter(sent_at__isnull=True).count() == 3
    assert smtp_server.messages == []

    broker.start()
    fast = {"REDIS_URL": broker.url, "TOCSIN_OUTBOX_RELAY_SECONDS": "1", "TOCSIN_SEND_SWEEP_SECONDS": "2"}
    worker = start_worker(smtp_server.url, "outage", **fast)
    beat = start_beat(smtp_server.url, tmp_path / "beat", **fast)
    try:
        smtp_server.wait_for(4, timeout=60)
        wait_until(
            lambda: Campaign.objects.values_list("status", flat=True).get(pk=alert.pk) == Campaign.Status.SENT,
            message="the alert being sent",
        )
        wait_until(lambda: client.get("/readyz").status_code == 200, message="/readyz answering 200")
        assert not OutboxMessage.objects.filter(sent_at__isnull=True).exists()
        # A few more relay and sweep rounds, which must send nothing again.
        before = {task: rounds(worker, task) for task in ROUNDS}
        wait_until(
            lambda: all(rounds(worker, task) >= before[task] + 2 for task in ROUNDS),
            message="two more relay and sweep rounds",
        )
    finally:
        stop(beat)
        worker.stop()

    received = Counter(str(message["To"]) for message in smtp_server.messages)
    assert received == Counter(
        {"page@example.org": 1, "embed@example.org": 1, "api@example.org": 1, "reader@example.org": 1}
    )
    # The worker said goodbye: readiness notices at once.
    assert client.get("/readyz").json()["workers"] == "down"
