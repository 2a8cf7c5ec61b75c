"""Campaigns while Redis is down: staff actions stand and wait in the database; the web version still reads.

Redis is a redis-server of the test's own (tests/support/outages.py), really
stopped; the sweeper hands the work over once it is started again.
"""

from __future__ import annotations

import json

import pytest
import redis
from django.urls import reverse
from django.utils import timezone

from campaigns import lifecycle, tasks
from campaigns.models import Campaign, SendBatch
from tests.support.factories import make_campaign, make_list, make_people
from tests.support.outages import celery_broker_at, own_redis

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker(tmp_path):
    with own_redis(tmp_path / "redis") as server, celery_broker_at(server.url):
        yield server


def queued_tasks(url: str, queue: str) -> list[str]:
    return [json.loads(raw)["headers"]["task"] for raw in redis.Redis.from_url(url).lrange(queue, 0, -1)]


def leased(campaign: Campaign) -> int:
    return SendBatch.objects.filter(campaign=campaign, lease_until__isnull=False).count()


def test_start_and_resume_with_the_broker_down_keep_the_campaign_sending_for_the_sweeper(
    broker, settings, django_capture_on_commit_callbacks
):
    settings.TOCSIN_SEND_BATCH_SIZE = 2
    peru = make_list()
    make_people(5, peru)
    campaign = make_campaign([peru])
    broker.stop()

    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.start(campaign=campaign, actor=None)
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SENDING

    # A worker that was preparing it when the broker went away cannot queue
    # the batches: their leases are given back, not held for the queue
    # lease's ten minutes.
    with django_capture_on_commit_callbacks(execute=True):
        tasks.prepare(campaign.pk)
    assert SendBatch.objects.filter(campaign=campaign).count() == 3
    assert leased(campaign) == 0

    lifecycle.pause(campaign=campaign, actor=None)
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.resume(campaign=campaign, actor=None)
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SENDING
    assert leased(campaign) == 0

    broker.start()
    with django_capture_on_commit_callbacks(execute=True):
        tasks.sweep()
    assert leased(campaign) == 3
    assert queued_tasks(broker.url, "bulk") == ["campaigns.tasks.send_batch"] * 3


def test_the_web_version_is_served_with_the_cache_down(client, tmp_path, settings):
    peru = make_list()
    campaign = make_campaign([peru], status=Campaign.Status.SENT, started_at=timezone.now())
    with own_redis(tmp_path / "cache") as server:
        settings.CACHES = {
            "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": server.url}
        }
        server.stop()
        response = client.get(reverse("campaigns:web_version", args=[campaign.attribution_code]))
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

    assert response.status_code == 200
    assert "Water defenders detained in Cajamarca" in response.content.decode()
