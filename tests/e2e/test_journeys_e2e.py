"""Journeys on the real queue: a real Celery worker runs the due batches and sends over SMTP.

The test plays beat: it queues ``journeys.tasks.run_journeys`` (and calls the
sending engine's sweeper) as beat would, and waits for conditions with a
deadline, never for a tuned time.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter

import pytest
import redis
from django.utils import timezone

from campaigns.models import Delivery
from campaigns.tasks import sweep
from journeys.models import Enrolment
from journeys.tasks import run_journeys
from subscribers.services import signup
from tests.support.factories.subscribers import make_list, make_people
from tests.support.journeys import email, steps_of, wait, welcome_journey
from tests.support.smtp import CountingHandler, smtp_on_localhost
from tests.support.waiting import wait_until
from tests.support.workers import CONCURRENCY, FAST_RECOVERY, start_worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def by_recipient_and_subject(messages) -> Counter:
    return Counter((str(m["To"]), str(m["Subject"])) for m in messages)


def test_each_step_is_mailed_exactly_once_by_a_real_worker(celery_worker_process, smtp_server):
    peru = make_list()
    journey = welcome_journey(peru, email("Welcome aboard"), wait(2, "minutes"), email("Second news"))
    for index in range(3):
        signup.subscribe(email=f"reader{index}@example.org", lists=[peru], source="api", double_opt_in=False)
    assert Enrolment.objects.filter(journey=journey).count() == 3

    run_journeys.delay()
    run_journeys.delay()  # two beats' ticks at once: the SKIP LOCKED claim shares the rows out
    first = smtp_server.wait_for(3, timeout=60)
    assert {str(m["Subject"]) for m in first} == {"Welcome aboard"}
    assert all(m["List-Unsubscribe"] and m["List-Unsubscribe-Post"] for m in first)

    # The wait is over (as if two minutes had passed): beat's next ticks send the second email.
    _first, _wait, second = steps_of(journey)
    Enrolment.objects.filter(journey=journey, step=second).update(due_at=timezone.now())
    for _ in range(3):
        run_journeys.delay()
    smtp_server.wait_for(6, timeout=60)
    wait_until(
        lambda: Enrolment.objects.filter(journey=journey, state=Enrolment.State.COMPLETED).count() == 3,
        timeout=30,
        message="everyone completing the journey",
    )
    run_journeys.delay()
    wait_until(
        lambda: not Delivery.objects.filter(status__in=[Delivery.Status.QUEUED, Delivery.Status.SENDING]).exists(),
        timeout=30,
        message="the ledger settling",
    )
    counts = by_recipient_and_subject(smtp_server.messages)
    assert len(counts) == 6
    assert set(counts.values()) == {1}


@pytest.fixture
def slow_smtp():
    handler = CountingHandler(delay=0.003)
    with smtp_on_localhost(handler) as url:
        yield handler, url


def test_a_worker_killed_during_a_due_batch_mails_nobody_twice(slow_smtp, settings):
    for key, value in FAST_RECOVERY.items():
        setattr(settings, key, int(value))  # the sweeper runs here, in the test process
    handler, email_url = slow_smtp
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    peru = make_list()
    journey = welcome_journey(peru, email("Welcome"), wait(7), email("A week later"))
    people = make_people(1500, peru)
    Enrolment.objects.bulk_create(
        [
            Enrolment(journey=journey, subscriber=person, step=steps_of(journey)[0], due_at=journey.created_at)
            for person in people
        ]
    )
    waiting_step = steps_of(journey)[2]
    small_batches = {"TOCSIN_JOURNEY_BATCH": "10"}  # many due batches, so the kill lands inside one

    first = start_worker(email_url, "doomed", **small_batches)
    try:
        run_journeys.delay()
        wait_until(
            lambda: Enrolment.objects.filter(step=waiting_step).count() >= 100,
            timeout=60,
            message="the first due batches",
        )
        os.killpg(first.process.pid, signal.SIGKILL)  # parent and pool processes, mid-batch
        first.process.wait()
    finally:
        first.stop()
    moved_at_kill = Enrolment.objects.filter(step=waiting_step).count()
    assert moved_at_kill < len(people), "every batch ran before the kill: make them smaller"

    second = start_worker(email_url, "rescuer", **small_batches)
    try:
        deadline = time.monotonic() + 240
        step_email = steps_of(journey)[0].campaign
        while (
            Enrolment.objects.filter(step=waiting_step).count() < len(people)
            or Delivery.objects.filter(
                campaign=step_email, status__in=[Delivery.Status.QUEUED, Delivery.Status.SENDING]
            ).exists()
        ):
            assert time.monotonic() < deadline, "the journey did not catch up after the restart:\n" + second.log
            run_journeys.delay()  # what beat does every 10 s
            sweep()  # what beat does every 15 s
            time.sleep(1)
    finally:
        second.stop()

    duplicates = {rcpt: n for rcpt, n in handler.received.items() if n > 1}
    assert duplicates == {}
    statuses = Counter(Delivery.objects.filter(campaign=step_email).values_list("status", flat=True))
    assert sum(statuses.values()) == len(people), "everyone reached the step once"
    assert set(statuses) <= {Delivery.Status.SENT, Delivery.Status.UNKNOWN}
    assert statuses[Delivery.Status.UNKNOWN] <= CONCURRENCY
    assert len(handler.received) >= len(people) - CONCURRENCY
