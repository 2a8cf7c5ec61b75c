"""What goes wrong in real sends, through a real worker: refusals, outages, people leaving mid-send.

SMTP cases run against aiosmtpd; provider cases run Anymail's real Postmark
backend (and Tocsin's own batch call) against a local HTTP server that
answers as Postmark's API does, errors included.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.conf import settings

from campaigns import lifecycle
from campaigns.models import Campaign, Delivery
from subscribers.models import Subscriber, Suppression, email_hash
from subscribers.services import unsubscribe
from tests.support.factories import make_campaign, make_list, make_people
from tests.support.postmark import PostmarkStub, outage
from tests.support.smtp import CountingHandler, smtp_on_localhost
from tests.support.waiting import wait_until
from tests.support.workers import start_worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
S = Campaign.Status
DS = Delivery.Status


@pytest.fixture(autouse=True)
def _empty_broker() -> None:
    redis.Redis.from_url(settings.REDIS_URL).flushdb()


def wait_for_status(campaign: Campaign, status: str, *, timeout: float = 90) -> None:
    wait_until(
        lambda: Campaign.objects.values_list("status", flat=True).get(pk=campaign.pk) == status,
        timeout=timeout,
        message=f"campaign becoming {status}",
    )


def statuses(campaign: Campaign) -> Counter[str]:
    return Counter(Delivery.objects.filter(campaign=campaign).values_list("status", flat=True))


# --- SMTP -------------------------------------------------------------------------------


class RefusingHandler(CountingHandler):
    """Refuses some recipients for good (550 at RCPT) and some messages for now (451 after DATA)."""

    def __init__(self, *, unknown_users: set[str], busy_first: int = 0, delay: float = 0.0) -> None:
        super().__init__(delay=delay)
        self.unknown_users = unknown_users
        self.busy_first = busy_first

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address.lower() in self.unknown_users:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            if self.busy_first > 0:
                self.busy_first -= 1
                return "451 4.7.1 Greylisted, please try again later"
        return await super().handle_DATA(server, session, envelope)


def test_a_550_fails_that_recipient_suppresses_the_address_and_451s_are_retried():
    peru = make_list()
    people = make_people(40, peru)
    gone = people[7].email
    handler = RefusingHandler(unknown_users={gone}, busy_first=3)
    with smtp_on_localhost(handler) as url:
        worker = start_worker(url, "refusals", TOCSIN_SEND_RETRY_BASE="0.2")
        try:
            campaign = make_campaign([peru])
            lifecycle.start(campaign=campaign, actor=None)
            wait_for_status(campaign, S.SENT, timeout=60)
        finally:
            worker.stop()
    assert handler.received == Counter({p.email: 1 for p in people if p.email != gone})
    assert statuses(campaign) == Counter({DS.SENT: 39, DS.FAILED: 1})
    failed = Delivery.objects.get(campaign=campaign, status=DS.FAILED)
    assert failed.subscriber.email == gone and "550" in failed.error
    assert Suppression.objects.filter(email_hash=email_hash(gone)).exists()


def test_someone_who_unsubscribes_after_the_send_started_gets_nothing_more():
    peru = make_list()
    people = make_people(60, peru)
    leaver = people[-1]  # last in the ledger: still queued when they leave
    handler = CountingHandler(delay=0.05)
    with smtp_on_localhost(handler) as url:
        worker = start_worker(url, "leaver")
        try:
            campaign = make_campaign([peru])
            lifecycle.start(campaign=campaign, actor=None)
            wait_until(lambda: handler.total >= 3, timeout=60, message="the first messages")
            unsubscribe(subscriber=Subscriber.objects.get(pk=leaver.pk), channel="one-click")
            wait_for_status(campaign, S.SENT, timeout=90)
        finally:
            worker.stop()
    assert handler.received[leaver.email] == 0
    assert Delivery.objects.get(campaign=campaign, subscriber=leaver).status == DS.SKIPPED
    assert all(handler.received[p.email] == 1 for p in people[:-1])


# --- A provider's HTTP API --------------------------------------------------------------


@pytest.fixture
def postmark_api() -> Iterator[PostmarkStub]:
    stub = PostmarkStub()
    try:
        yield stub
    finally:
        stub.close()


@pytest.mark.parametrize("per_call", ["1", "100"], ids=["anymail-backend", "batch-call"])
def test_a_provider_outage_is_retried_and_an_inactive_recipient_is_failed_and_suppressed(postmark_api, per_call):
    peru = make_list()
    people = make_people(30, peru)
    inactive = people[3].email
    postmark_api.inactive.add(inactive)
    postmark_api.answers = [outage, outage, postmark_api.deliver]  # AnymailAPIError (HTTP 500) for the first two calls
    worker = start_worker(
        "smtp://127.0.0.1:9",  # unused: the provider's API sends
        f"postmark{per_call}",
        ESP="postmark",
        ANYMAIL_POSTMARK_SERVER_TOKEN="test-token",
        ANYMAIL_POSTMARK_API_URL=postmark_api.url,
        TOCSIN_SEND_ESP_BATCH=per_call,
        TOCSIN_SEND_RETRY_BASE="0.2",
        TOCSIN_SEND_MAX_FAILURES="6",
        TOCSIN_SEND_THREADS="4",
    )
    try:
        campaign = make_campaign([peru])
        lifecycle.start(campaign=campaign, actor=None)
        wait_for_status(campaign, S.SENT, timeout=90)
    finally:
        worker.stop()
    assert postmark_api.received == Counter({p.email: 1 for p in people if p.email != inactive})
    assert statuses(campaign) == Counter({DS.SENT: 29, DS.FAILED: 1})
    assert Delivery.objects.get(campaign=campaign, status=DS.FAILED).subscriber.email == inactive
    assert Suppression.objects.filter(email_hash=email_hash(inactive)).exists()
    sent = Delivery.objects.filter(campaign=campaign, status=DS.SENT)
    assert not sent.filter(esp_message_id="").exists()  # webhooks can match every message back
