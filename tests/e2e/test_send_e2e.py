"""Sending campaigns through a real Celery worker, real Redis and a real SMTP server.

Each test drives the engine the way staff do (``campaigns.lifecycle``, ``campaigns.tasks``) and
looks at what the SMTP server received.
"""

from __future__ import annotations

import email
import email.policy
from collections import Counter

import pytest
import redis

from campaigns import lifecycle
from campaigns.models import Campaign, Delivery, SendBatch
from tests.support.factories import make_campaign, make_list, make_people
from tests.support.smtp import CountingHandler, smtp_on_localhost
from tests.support.waiting import wait_until
from tests.support.workers import start_worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
S = Campaign.Status


def status_of(campaign: Campaign) -> str:
    return Campaign.objects.values_list("status", flat=True).get(pk=campaign.pk)


def wait_for_status(campaign: Campaign, status: str, *, timeout: float = 90) -> None:
    wait_until(lambda: status_of(campaign) == status, timeout=timeout, message=f"campaign becoming {status}")


def test_a_campaign_reaches_every_subscriber_exactly_once(celery_worker_process, smtp_server):
    peru = make_list()
    people = make_people(300, peru)
    campaign = make_campaign([peru], subject="Water defenders detained")

    lifecycle.start(campaign=campaign, actor=None)

    wait_for_status(campaign, S.SENT)
    messages = smtp_server.wait_for(300)
    assert Counter(str(m["To"]) for m in messages) == Counter({p.email: 1 for p in people})
    sample = email.message_from_bytes(messages[0].as_bytes(), policy=email.policy.strict)
    assert sample["List-Unsubscribe"] and sample["Message-ID"]
    assert set(Delivery.objects.filter(campaign=campaign).values_list("status", flat=True)) == {"sent"}
    assert lifecycle.campaign_counts(campaign)["sent"] == 300


@pytest.fixture
def slow_worker(settings):
    """A worker mailing a server that takes ~10 ms per message, so a send lasts long enough to act on."""
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    handler = CountingHandler(delay=0.01)
    with smtp_on_localhost(handler) as url:
        worker = start_worker(url, "slow")
        handler.worker = worker  # type: ignore[attr-defined]  # its log helps when a test fails
        try:
            yield handler
        finally:
            worker.stop()


def settle(handler: CountingHandler, campaign: Campaign) -> int:
    """Wait until every batch task has stopped; return what the server got.

    A batch task holds its batch's lease while it sends and lets go once it
    stops (campaigns/sending/batching.py ``release``): with no message in
    flight and no lease held, nothing more can reach the server.
    """
    wait_until(
        lambda: (
            not Delivery.objects.filter(campaign=campaign, status=Delivery.Status.SENDING).exists()
            and not SendBatch.objects.filter(campaign=campaign).exclude(lease_token="").exists()
        ),
        message="every batch task stopping",
    )
    return handler.total


def test_pause_stops_a_send_and_resume_finishes_it_exactly_once(slow_worker):
    peru = make_list()
    people = make_people(1500, peru)
    campaign = make_campaign([peru])
    lifecycle.start(campaign=campaign, actor=None)
    wait_until(lambda: slow_worker.total >= 100, message="the first messages")

    lifecycle.pause(campaign=campaign, actor=None)
    stopped_at = settle(slow_worker, campaign)
    assert slow_worker.total == stopped_at < len(people)
    assert status_of(campaign) == S.PAUSED

    lifecycle.resume(campaign=campaign, actor=None)
    wait_for_status(campaign, S.SENT)
    assert slow_worker.total == len(people)
    assert max(slow_worker.received.values()) == 1


def test_cancel_stops_a_send_for_good(slow_worker):
    peru = make_list()
    make_people(1500, peru)
    campaign = make_campaign([peru])
    lifecycle.start(campaign=campaign, actor=None)
    wait_until(lambda: slow_worker.total >= 100, message="the first messages")

    lifecycle.cancel(campaign=campaign, actor=None)
    stopped_at = settle(slow_worker, campaign)
    assert stopped_at < 1500
    assert status_of(campaign) == S.CANCELLED
    assert Delivery.objects.filter(campaign=campaign, status=Delivery.Status.QUEUED).exists()


def test_an_alert_started_during_a_bulletin_is_delivered_before_the_bulletin_ends(slow_worker):
    news = make_list("news")
    make_people(3000, news, prefix="reader")
    bulletin = make_campaign([news], subject="Monthly bulletin")
    lifecycle.start(campaign=bulletin, actor=None)
    try:
        wait_until(lambda: slow_worker.total >= 100, message="the bulletin's first messages")
    except AssertionError:
        raise AssertionError(slow_worker.worker.log) from None

    urgent = make_list("urgent")
    responders = make_people(20, urgent, prefix="responder")
    alert = make_campaign([urgent], kind=Campaign.Kind.ALERT, subject="Protester shot in Cajamarca")
    lifecycle.start(campaign=alert, actor=None)

    wait_for_status(alert, S.SENT, timeout=60)
    assert all(slow_worker.received[p.email] == 1 for p in responders)
    assert status_of(bulletin) == S.SENDING  # the bulletin had to wait its turn
    wait_for_status(bulletin, S.SENT, timeout=120)
    assert max(slow_worker.received.values()) == 1


def test_smtp_421_replies_are_retried_without_resending_what_succeeded(settings):
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    handler = CountingHandler(delay=0, refuse_first=3)
    with smtp_on_localhost(handler) as url:
        worker = start_worker(url, "retry", TOCSIN_SEND_RETRY_BASE="0.2")
        try:
            peru = make_list()
            people = make_people(50, peru)
            campaign = make_campaign([peru])
            lifecycle.start(campaign=campaign, actor=None)
            wait_for_status(campaign, S.SENT, timeout=60)
        finally:
            worker.stop()
    assert handler.received == Counter({p.email: 1 for p in people})
    attempts = Delivery.objects.filter(campaign=campaign).values_list("attempts", flat=True)
    assert sum(attempts) == len(people) + 3  # three refusals, each retried once more
