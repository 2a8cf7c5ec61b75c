"""Sending one delivery: Standard Webhooks headers the reference verifier accepts, the outbox, retries."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from integrations import delivering, recording
from integrations.models import WebhookDelivery
from subscribers.models import MailingList
from subscribers.services import subscribe
from tests.support.webhook_receiver import Reply

pytestmark = pytest.mark.django_db

S = WebhookDelivery.Status


def confirm_someone(email: str = "ana@example.org") -> WebhookDelivery:
    news = MailingList.objects.get_or_create(slug="news", defaults={"name": "News"})[0]
    subscribe(email=email, name="Ana", lists=[news], source="api", double_opt_in=False)
    return WebhookDelivery.objects.get(event_type="subscriber.confirmed")


def test_the_delivery_is_written_in_the_transaction_of_the_event(endpoint):
    with pytest.raises(RuntimeError), transaction.atomic():
        confirm_someone()
        assert WebhookDelivery.objects.count() == 1
        raise RuntimeError("the change fails after the event")

    assert WebhookDelivery.objects.count() == 0


def test_it_posts_a_body_the_standard_webhooks_verifier_accepts(endpoint, receiver):
    delivery = confirm_someone()

    outcome = delivering.deliver(delivery.pk)

    assert outcome is not None and outcome.ok
    [request] = receiver.wait_for(1)
    message = request.verify(endpoint.secret)
    assert message["type"] == "subscriber.confirmed"
    assert message["data"]["email"] == "ana@example.org"
    assert message["data"]["lists"] == ["news"]
    assert set(message) == {"type", "timestamp", "data"}
    assert request.headers["webhook-id"] == delivery.message_id
    assert request.headers["webhook-signature"].startswith("v1,")
    assert request.path == "/hooks/tocsin"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (S.DELIVERED, 1, 200)


def test_a_tampered_body_fails_verification(endpoint, receiver):
    delivering.deliver(confirm_someone().pk)
    [request] = receiver.wait_for(1)
    forged = type(request)(request.path, request.headers, request.body.replace(b"ana@", b"eve@"))

    with pytest.raises(Exception, match="signature"):
        forged.verify(endpoint.secret)


def test_a_non_2xx_answer_is_retried_within_a_minute_and_its_answer_kept(endpoint, receiver):
    receiver.answer(Reply(503, "busy " * 1000))
    delivery = confirm_someone()

    before = timezone.now()
    outcome = delivering.deliver(delivery.pk)

    assert outcome is not None and not outcome.ok
    delivery.refresh_from_db()
    assert delivery.status == S.PENDING
    assert delivery.attempts == 1
    assert delivery.last_status_code == 503
    assert delivery.last_response.startswith("busy busy")
    assert len(delivery.last_response) == 2000  # truncated
    assert before < delivery.next_attempt_at <= before + timedelta(seconds=60)


def test_each_retry_waits_about_twice_as_long(endpoint, receiver, settings):
    receiver.answer(Reply(500))
    delivery = confirm_someone()
    waits = []
    for _ in range(5):
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        started = timezone.now()
        delivering.deliver(delivery.pk)
        delivery.refresh_from_db()
        waits.append((delivery.next_attempt_at - started).total_seconds())

    base = settings.TOCSIN_WEBHOOK_RETRY_BASE
    for number, wait in enumerate(waits):
        assert 0.75 * base * 2**number - 1 <= wait <= base * 2**number + 1
    assert delivery.attempts == 5


def test_a_redirect_is_not_followed(endpoint, receiver):
    receiver.answer(Reply(302, headers={"Location": receiver.url("/elsewhere")}))
    delivery = confirm_someone()

    delivering.deliver(delivery.pk)

    assert len(receiver.wait_for(1)) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.last_status_code) == (S.PENDING, 302)
    assert [request.path for request in receiver.requests] == ["/hooks/tocsin"]


def test_a_receiver_that_does_not_answer_in_time_is_a_failed_attempt(endpoint, receiver, settings):
    settings.TOCSIN_WEBHOOK_TIMEOUT = 0.5
    late = threading.Event()
    receiver.answer(Reply(200, hold=late))
    delivery = confirm_someone()

    outcome = delivering.deliver(delivery.pk)
    late.set()

    assert outcome is not None and not outcome.ok
    assert "timed out" in outcome.error
    delivery.refresh_from_db()
    assert delivery.status == S.PENDING and delivery.last_error.startswith("timed out")


def test_a_refused_connection_is_a_failed_attempt(endpoint, receiver):
    delivery = confirm_someone()
    endpoint.url = "http://127.0.0.1:9/nobody-listens"
    endpoint.save()

    outcome = delivering.deliver(delivery.pk)

    assert outcome is not None and not outcome.ok and outcome.error
    delivery.refresh_from_db()
    assert delivery.status == S.PENDING and delivery.last_status_code is None


def test_after_a_day_of_failures_the_delivery_is_failed_with_the_last_answer(endpoint, receiver):
    receiver.answer(Reply(500, "still down"))
    delivery = confirm_someone()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(created_at=timezone.now() - timedelta(hours=24, minutes=1))

    delivering.deliver(delivery.pk)

    delivery.refresh_from_db()
    assert delivery.status == S.FAILED
    assert (delivery.last_status_code, delivery.last_response) == (500, "still down")
    assert delivering.deliver(delivery.pk) is None  # nothing more is sent


def test_a_row_being_sent_or_sent_is_not_sent_again(endpoint, receiver):
    delivery = confirm_someone()
    claimed = delivering.claim(delivery.pk, now=timezone.now())

    assert claimed is not None
    assert delivering.deliver(delivery.pk) is None  # claimed: its next attempt is after the lease
    delivering.record(claimed, delivering.attempt(claimed, now=timezone.now()))
    assert delivering.deliver(delivery.pk) is None  # delivered
    assert len(receiver.requests) == 1


def test_every_attempt_carries_the_same_id_and_body(endpoint, receiver):
    receiver.answer(Reply(500), Reply(200))
    delivery = confirm_someone()

    delivering.deliver(delivery.pk)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    delivering.deliver(delivery.pk)

    first, second = receiver.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body
    second.verify(endpoint.secret)


def test_the_body_is_the_spec_shape():
    text = recording.body("donation.received", {"id": 3, "email": "a@example.org"})
    message = json.loads(text)
    assert list(message) == ["type", "timestamp", "data"]
    assert timezone.datetime.fromisoformat(message["timestamp"])
