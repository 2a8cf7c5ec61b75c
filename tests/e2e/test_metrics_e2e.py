"""GET /metrics over real HTTP, after a real worker sent a campaign (SPEC: operations; config/metrics.py).

Every figure comes from what all processes share: the ledger in the database,
the broker's queues, and histograms the worker (batch durations) and the web
(webhook lag) added to in Redis. The scrape is a real HTTP request to a live
server, parsed with prometheus-client's own parser.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from campaigns import lifecycle
from campaigns.models import Campaign, Delivery
from config.celery import app as celery_app
from subscribers.models import Subscriber
from tests.support.factories import make_campaign, make_list, make_people
from tests.support.smtp import CountingHandler, smtp_on_localhost
from tests.support.waiting import wait_until
from tests.support.workers import start_worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

TOKEN = "scrape-me-" + "t" * 30


def get(url: str, token: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read().decode()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def a_postmark_bounce(live_server_url: str, email: str) -> int:
    body = json.dumps(
        {"RecordType": "Bounce", "Type": "HardBounce", "TypeCode": 1, "ID": 42, "MessageID": "not-ours",
         "Email": email, "BouncedAt": (timezone.now() - timedelta(seconds=90)).isoformat(), "Details": "550"}
    ).encode()  # fmt: skip
    credentials = base64.b64encode(settings.WEBHOOK_SECRET.encode()).decode()
    request = urllib.request.Request(
        f"{live_server_url}/anymail/postmark/tracking/",
        data=body,
        headers={"Content-Type": "application/json", "Authorization": f"Basic {credentials}"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(response.status)


def an_old_campaign_with_failures(people: list[Subscriber]) -> None:
    """Finished ten days ago: counted once, then read from the cache at every scrape."""
    old = make_campaign([make_list("archive")], subject="Old appeal", status=Campaign.Status.SENT)
    Delivery.objects.bulk_create(
        [Delivery(campaign=old, subscriber=person, status=Delivery.Status.FAILED) for person in people[:2]]
    )
    Campaign.objects.filter(pk=old.pk).update(
        finished_at=timezone.now() - timedelta(days=10), updated_at=timezone.now() - timedelta(days=10)
    )


def test_a_scrape_shows_sends_queues_batch_durations_and_webhook_lag(live_server, settings):
    settings.TOCSIN_METRICS_TOKEN = TOKEN
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    peru = make_list()
    people = make_people(30, peru)
    an_old_campaign_with_failures(people)
    campaign = make_campaign([peru])
    url = f"{live_server.url}/metrics"

    with smtp_on_localhost(CountingHandler(delay=0)) as smtp_url:
        worker = start_worker(smtp_url, "metrics")
        try:
            lifecycle.start(campaign=campaign, actor=None)
            wait_until(lambda: Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SENT, timeout=60)
            live = samples(get(url, TOKEN)[1])
        finally:
            worker.stop()
    assert a_postmark_bounce(live_server.url, people[0].email) == 200
    for _ in range(3):  # queued while no worker runs
        celery_app.send_task("outbox.tasks.relay_outbox", queue="default")

    status, text = get(url, TOKEN)
    assert status == 200
    after = samples(text)
    assert after == samples(get(url, TOKEN)[1])  # the settled campaign, now from the cache, counts the same
    assert after[("tocsin_sends_total", (("outcome", "sent"),))] == 30
    assert after[("tocsin_sends_total", (("outcome", "failed"),))] == 2
    assert after[("tocsin_sends_total", (("outcome", "unknown"),))] == 0
    assert after[("tocsin_deliveries_pending", ())] == 0
    assert after[("tocsin_queue_depth", (("queue", "default"),))] == 3
    assert after[("tocsin_queue_depth", (("queue", "urgent"),))] == 0
    assert after[("tocsin_batch_duration_seconds_count", (("queue", "bulk"),))] >= 1
    assert after[("tocsin_batch_duration_seconds_sum", (("queue", "bulk"),))] > 0
    assert after[("tocsin_webhook_lag_seconds_count", (("esp", "Postmark"),))] == 1
    assert after[("tocsin_webhook_lag_seconds_bucket", (("esp", "Postmark"), ("le", "60.0")))] == 0
    assert after[("tocsin_webhook_lag_seconds_bucket", (("esp", "Postmark"), ("le", "300.0")))] == 1
    assert after[("tocsin_up", (("component", "database"),))] == 1
    assert after[("tocsin_up", (("component", "broker"),))] == 1
    assert live[("tocsin_workers", ())] >= 1  # while the worker ran
    assert after[("tocsin_workers", ())] == 0  # it said goodbye


def test_metrics_need_the_token(live_server, settings):
    url = f"{live_server.url}/metrics"
    settings.TOCSIN_METRICS_TOKEN = ""
    assert get(url)[0] == 404  # no token configured: no endpoint

    settings.TOCSIN_METRICS_TOKEN = TOKEN
    assert get(url)[0] == 401
    assert get(url, "not-" + TOKEN)[0] == 401
    assert get(url, TOKEN)[0] == 200
