"""kill -9 a worker in the middle of a send: nobody gets the campaign twice, and it finishes.

A real Celery worker sends a few thousand messages over SMTP to a (slightly
slow) aiosmtpd server; the test kills the worker's whole process group with
SIGKILL mid-send, starts a fresh worker, and plays beat by calling the
sweeper. Afterwards: zero duplicates at the server, every delivery sent or
``unknown``, and at most one ``unknown`` per connection the kill cut.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

import pytest
import redis

from campaigns import lifecycle, tasks
from campaigns.counters import status_counts
from campaigns.models import Campaign, Delivery
from tests.support.factories import make_campaign, make_list, make_people
from tests.support.sending import statuses_by_group_by
from tests.support.smtp import CountingHandler, smtp_on_localhost
from tests.support.waiting import wait_until
from tests.support.workers import CONCURRENCY, FAST_RECOVERY, start_worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def slow_smtp():
    handler = CountingHandler(delay=0.004)
    with smtp_on_localhost(handler) as url:
        yield handler, url


def test_a_worker_killed_mid_send_leaves_no_duplicate_and_the_send_finishes(slow_smtp, settings):
    for key, value in FAST_RECOVERY.items():
        setattr(settings, key, int(value))  # the sweeper runs here, in the test process
    handler, email_url = slow_smtp
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    peru = make_list()
    people = make_people(2500, peru)
    campaign = make_campaign([peru])

    first = start_worker(email_url, "doomed")
    try:
        lifecycle.start(campaign=campaign, actor=None)
        wait_until(lambda: handler.total >= 400, timeout=60, message="the first few hundred messages")
        os.killpg(first.process.pid, signal.SIGKILL)  # parent and pool processes, mid-send
        first.process.wait()
    finally:
        first.stop()
    received_at_kill = handler.total
    # The killed transactions took their counter changes with them (campaigns/counters.py).
    assert status_counts(campaign.pk) == statuses_by_group_by(campaign.pk)
    assert received_at_kill < len(people), "the send finished before the kill: make it slower"

    second = start_worker(email_url, "rescuer")
    try:

        def swept_and_sent() -> bool:
            tasks.sweep()  # what beat does every 15 s, here once a second
            return Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SENT

        try:
            wait_until(swept_and_sent, timeout=180, interval=1, message="the campaign finishing after the restart")
        except AssertionError as error:
            raise AssertionError(f"{error}:\n{second.log}") from None
    finally:
        second.stop()

    duplicates = {rcpt: n for rcpt, n in handler.received.items() if n > 1}
    assert duplicates == {}
    assert status_counts(campaign.pk) == statuses_by_group_by(campaign.pk)
    statuses = Counter(Delivery.objects.filter(campaign=campaign).values_list("status", flat=True))
    assert set(statuses) <= {Delivery.Status.SENT, Delivery.Status.UNKNOWN}
    assert statuses[Delivery.Status.UNKNOWN] <= CONCURRENCY
    sent_to = set(
        Delivery.objects.filter(campaign=campaign, status=Delivery.Status.SENT).values_list(
            "subscriber__email", flat=True
        )
    )
    assert all(handler.received[email] == 1 for email in sent_to)
    assert len(handler.received) >= len(people) - CONCURRENCY
