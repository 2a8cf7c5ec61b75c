"""The outbox: a task call written with the change, handed to the broker once, even across a broker outage.

The broker here is a redis-server of the test's own (tests/support/outages.py),
really stopped and started again; nothing runs the tasks, so what reached
the broker is read from its queue.
"""

from __future__ import annotations

import base64
import json
import threading
from datetime import timedelta

import pytest
import redis
from django.db import connection, transaction
from django.utils import timezone

from outbox import relay as outbox
from outbox.models import OutboxMessage
from outbox.tasks import relay_outbox
from subscribers.tasks import send_welcome_email
from tests.support.outages import celery_broker_at, own_redis

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker(tmp_path):
    with own_redis(tmp_path / "redis") as server, celery_broker_at(server.url):
        yield server


def queued(url: str, queue: str = "default") -> list[tuple[str, list]]:
    """(task name, args) of every message waiting in ``queue`` of the Redis at ``url``, oldest first."""
    found = []
    for raw in reversed(redis.Redis.from_url(url).lrange(queue, 0, -1)):  # kombu LPUSHes, workers BRPOP
        message = json.loads(raw)
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        found.append((message["headers"]["task"], args))
    return found


def test_a_rolled_back_change_leaves_nothing_to_send(broker, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        outbox.enqueue(send_welcome_email, args=[7])
        raise RuntimeError("the change failed")

    assert not OutboxMessage.objects.exists()
    assert queued(broker.url) == []


def test_after_commit_the_call_reaches_the_broker_once_and_is_marked_sent(broker, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        outbox.enqueue(send_welcome_email, args=[7])

    assert queued(broker.url) == [("subscribers.tasks.send_welcome_email", [7])]
    message = OutboxMessage.objects.get()
    assert message.sent_at is not None and message.attempts == 1 and message.claim == ""
    # Beat's relay finds nothing left to hand over.
    assert relay_outbox() == 0
    assert len(queued(broker.url)) == 1


def test_with_the_broker_stopped_the_call_waits_and_the_relay_hands_it_over_when_it_is_back(
    broker, django_capture_on_commit_callbacks
):
    broker.stop()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        outbox.enqueue(send_welcome_email, args=[7])
        outbox.enqueue(send_welcome_email, args=[8])

    waiting = list(OutboxMessage.objects.order_by("id"))
    assert [m.sent_at for m in waiting] == [None, None]
    assert waiting[0].attempts == 1 and "connecting" in waiting[0].last_error
    assert all(m.claim == "" and m.claimed_until is None for m in waiting)  # released for the next relay
    assert relay_outbox() == 0  # beat's relay while the broker is still down: still waiting

    broker.start()
    assert relay_outbox() == 2

    assert queued(broker.url) == [
        ("subscribers.tasks.send_welcome_email", [7]),
        ("subscribers.tasks.send_welcome_email", [8]),
    ]
    assert not OutboxMessage.objects.filter(sent_at__isnull=True).exists()
    assert relay_outbox() == 0


def test_a_row_beats_relay_handed_over_first_is_not_published_again_by_the_fast_path(
    broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as after_commit, transaction.atomic():
        outbox.enqueue(send_welcome_email, args=[7])
    assert relay_outbox() == 1  # beat ran between the commit and the fast path

    for callback in after_commit:
        callback()

    assert queued(broker.url) == [("subscribers.tasks.send_welcome_email", [7])]


def test_a_row_claimed_by_a_relay_that_died_is_handed_over_after_its_claim_lapses(broker):
    message = OutboxMessage.objects.create(task="subscribers.tasks.send_welcome_email", args=[7])
    # What a relay killed between its claim and the publish leaves behind.
    later = timezone.now() + timedelta(seconds=30)
    OutboxMessage.objects.filter(pk=message.pk).update(claim="dead", claimed_until=later)
    assert relay_outbox() == 0

    OutboxMessage.objects.filter(pk=message.pk).update(claimed_until=timezone.now() - timedelta(seconds=1))
    assert relay_outbox() == 1
    assert queued(broker.url) == [("subscribers.tasks.send_welcome_email", [7])]


def test_rows_handed_over_long_ago_are_forgotten_and_waiting_ones_kept(broker, settings):
    settings.TOCSIN_OUTBOX_KEEP_DAYS = 7
    old = OutboxMessage.objects.create(task="x", sent_at=timezone.now() - timedelta(days=8))
    recent = OutboxMessage.objects.create(task="x", sent_at=timezone.now() - timedelta(days=6))
    broker.stop()  # the waiting row must survive however long the broker stays down
    waiting = OutboxMessage.objects.create(task="x", created_at=timezone.now() - timedelta(days=30))

    relay_outbox()

    assert set(OutboxMessage.objects.values_list("pk", flat=True)) == {recent.pk, waiting.pk}
    assert not OutboxMessage.objects.filter(pk=old.pk).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_relays_running_at_once_hand_each_row_over_exactly_once(broker):
    OutboxMessage.objects.bulk_create(
        [OutboxMessage(task="subscribers.tasks.send_welcome_email", args=[n]) for n in range(300)]
    )
    barrier = threading.Barrier(4)
    counts: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(timeout=10)
            total = 0
            while handed := outbox.relay(limit=20):  # small claims, so the relays interleave
                total += handed
            counts.append(total)
        except BaseException as error:  # reported in the test's thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sum(counts) == 300
    args = sorted(a[0] for _task, a in queued(broker.url))
    assert args == list(range(300))
    assert not OutboxMessage.objects.filter(sent_at__isnull=True).exists()
