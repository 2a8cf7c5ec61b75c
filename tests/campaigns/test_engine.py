"""Sending one batch: exactly once, outcomes recorded, errors sorted, control honoured."""

from __future__ import annotations

import smtplib
import threading

import pytest
from anymail.exceptions import AnymailAPIError
from django.core import mail

from campaigns import tasks
from campaigns.models import Campaign, Delivery, SendBatch
from campaigns.sending import ledger, outcomes, senders
from subscribers.models import Subscriber, Suppression, email_hash
from tests.support.mail_backends import FailingBackend
from tests.support.sending import run, sending_campaign

pytestmark = pytest.mark.django_db
DS = Delivery.Status


@pytest.fixture
def failing_backend(settings):
    settings.EMAIL_BACKEND = "tests.support.mail_backends.FailingBackend"
    FailingBackend.failures = {}
    FailingBackend.hook = None
    yield FailingBackend
    FailingBackend.failures = {}
    FailingBackend.hook = None


def test_every_recipient_gets_exactly_one_message_and_the_ledger_says_sent():
    campaign, batch = sending_campaign(5)
    result = run(campaign, batch)
    assert result.sent == 5 and result.finished
    assert sorted(m.to[0] for m in mail.outbox) == sorted(Subscriber.objects.values_list("email", flat=True))
    deliveries = Delivery.objects.filter(campaign=campaign)
    assert set(deliveries.values_list("status", flat=True)) == {DS.SENT}
    assert all(d.sent_at and d.esp_message_id and d.attempts == 1 for d in deliveries)
    # The Message-ID we recorded is the one the recipient's server sees.
    first = deliveries.get(subscriber__email=mail.outbox[0].to[0])
    assert mail.outbox[0].message()["Message-ID"] == first.esp_message_id
    assert SendBatch.objects.get(pk=batch.pk).done


def test_running_a_batch_twice_sends_nothing_twice():
    campaign, batch = sending_campaign(3)
    run(campaign, batch)
    SendBatch.objects.filter(pk=batch.pk).update(done=False)  # as if the task were redelivered
    result = run(campaign, batch)
    assert result.sent == 0
    assert len(mail.outbox) == 3


def test_someone_who_unsubscribes_mid_send_is_skipped(failing_backend):
    campaign, batch = sending_campaign(4)
    last = Subscriber.objects.order_by("id").last()

    def unsubscribe_the_last_one(message):  # type: ignore[no-untyped-def]
        if message.to[0] != last.email:
            Subscriber.objects.filter(pk=last.pk).update(status=Subscriber.Status.UNSUBSCRIBED)

    failing_backend.hook = unsubscribe_the_last_one
    senders.CHUNK, old_chunk = 1, senders.CHUNK
    try:
        result = run(campaign, batch)
    finally:
        senders.CHUNK = old_chunk
    assert result.sent == 3 and result.skipped == 1
    assert last.email not in [m.to[0] for m in mail.outbox]
    assert Delivery.objects.get(campaign=campaign, subscriber=last).status == DS.SKIPPED


def test_a_permanent_rejection_marks_failed_and_suppresses_the_address(failing_backend):
    campaign, batch = sending_campaign(3)
    bad = Subscriber.objects.order_by("id").first()
    failing_backend.failures[bad.email] = smtplib.SMTPRecipientsRefused({bad.email: (550, b"5.1.1 no such user")})

    result = run(campaign, batch)

    assert result.sent == 2 and result.failed == 1 and result.finished
    delivery = Delivery.objects.get(campaign=campaign, subscriber=bad)
    assert delivery.status == DS.FAILED and "550" in delivery.error
    assert Suppression.objects.filter(email_hash=email_hash(bad.email)).exists()


@pytest.mark.parametrize(
    "error",
    [
        smtplib.SMTPResponseException(421, b"4.3.2 try again later"),
        smtplib.SMTPDataError(451, b"4.3.0 temporary failure"),
        smtplib.SMTPServerDisconnected("gone"),
        ConnectionRefusedError(111, "refused"),
        AnymailAPIError("Postmark is down", status_code=503),
        AnymailAPIError("slow down", status_code=429),
    ],
    ids=["421", "451", "disconnect", "refused", "anymail-503", "anymail-429"],
)
def test_a_transient_error_requeues_the_message_and_keeps_what_succeeded(failing_backend, error):
    campaign, batch = sending_campaign(4)
    people = list(Subscriber.objects.order_by("id"))
    failing_backend.failures[people[2].email] = error

    result = run(campaign, batch)

    assert result.retry_error and result.sent == 2
    statuses = dict(Delivery.objects.filter(campaign=campaign).values_list("subscriber_id", "status"))
    assert [statuses[p.pk] for p in people] == [DS.SENT, DS.SENT, DS.QUEUED, DS.QUEUED]
    assert not Suppression.objects.exists()

    # The retry sends only what is left, once.
    failing_backend.failures.clear()
    SendBatch.objects.filter(pk=batch.pk).update(lease_until=None, lease_token="")
    again = run(campaign, batch)
    assert again.sent == 2 and again.finished
    assert sorted(m.to[0] for m in mail.outbox) == sorted(p.email for p in people)


def test_consecutive_transport_failures_pause_the_campaign_with_a_reason(failing_backend, settings, monkeypatch):
    settings.TOCSIN_SEND_MAX_FAILURES = 3
    campaign, batch = sending_campaign(2)
    for person in Subscriber.objects.all():
        failing_backend.failures[person.email] = AnymailAPIError("Postmark is down", status_code=503)
    delays: list[float | None] = []
    monkeypatch.setattr(tasks, "enqueue_batch", lambda ref, *, queue, countdown=None: delays.append(countdown))

    for _ in range(3):
        SendBatch.objects.filter(pk=batch.pk).update(lease_until=None, lease_token="")
        result = run(campaign, batch)
        tasks.after_batch(result, campaign_id=campaign.pk, first_id=batch.first_id, last_id=batch.last_id)

    # Re-enqueued twice with a back-off; the third failure in a row pauses instead.
    assert len(delays) == 2 and all(d is not None and 0 < d <= settings.TOCSIN_SEND_RETRY_MAX for d in delays)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.PAUSED
    assert "Postmark is down" in campaign.status_reason
    assert not mail.outbox
    assert set(Delivery.objects.values_list("status", flat=True)) == {DS.QUEUED}


def test_a_paused_campaign_stops_between_messages(failing_backend):
    campaign, batch = sending_campaign(5)

    def pause_after_the_second(message):  # type: ignore[no-untyped-def]
        if len(mail.outbox) == 1:
            Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.PAUSED)

    failing_backend.hook = pause_after_the_second
    old = senders.CONTROL_INTERVAL
    senders.CONTROL_INTERVAL = 0
    try:
        result = run(campaign, batch)
    finally:
        senders.CONTROL_INTERVAL = old
    assert result.stopped == Campaign.Status.PAUSED
    assert len(mail.outbox) == 2
    assert Delivery.objects.filter(campaign=campaign, status=DS.QUEUED).count() == 3
    assert not SendBatch.objects.get(pk=batch.pk).done


def test_a_batch_of_a_campaign_that_is_not_sending_sends_nothing():
    campaign, batch = sending_campaign(2)
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.CANCELLED)
    result = run(campaign, batch)
    assert result.stopped == Campaign.Status.CANCELLED
    assert not mail.outbox


def test_provider_metadata_carries_campaign_and_delivery_ids():
    campaign, batch = sending_campaign(1)
    run(campaign, batch)
    [message] = mail.outbox
    delivery = Delivery.objects.get(campaign=campaign)
    assert message.metadata == {"campaign_id": str(campaign.pk), "kind": "bulletin", "delivery_id": str(delivery.pk)}


def test_errors_are_sorted_into_retry_failed_and_unknown():
    import requests

    assert outcomes.classify(smtplib.SMTPRecipientsRefused({"a@x": (450, b"busy")})).outcome == "retry"
    assert outcomes.classify(smtplib.SMTPDataError(554, b"rejected")).outcome == "failed"
    assert outcomes.classify(AnymailAPIError("bad request", status_code=422)).outcome == "failed"
    timeout = AnymailAPIError("read timed out")
    timeout.__cause__ = requests.ReadTimeout()
    assert outcomes.classify(timeout).outcome == "unknown"
    assert outcomes.classify(ValueError("template bug")).outcome == "failed"


def test_one_ledger_step_records_the_outcome_and_claims_the_next_row():
    campaign, _batch = sending_campaign(2)
    first, second = Delivery.objects.filter(campaign=campaign).order_by("id")
    assert ledger.advance(None, first.pk)
    assert ledger.advance(ledger.Done(first.pk, outcomes.Outcome.SENT, esp_message_id="<m1@example.org>"), second.pk)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.esp_message_id, first.attempts) == (DS.SENT, "<m1@example.org>", 1)
    assert first.sent_at is not None and first.sent_at >= first.claimed_at
    assert (second.status, second.attempts, second.sent_at) == (DS.SENDING, 1, None)
    assert second.claimed_at is not None
    # A transient failure puts the row back in the queue, unclaimed, with the reason.
    assert not ledger.advance(ledger.Done(second.pk, outcomes.Outcome.RETRY, error="421 try later"), None)
    second.refresh_from_db()
    assert (second.status, second.claimed_at, second.error) == (DS.QUEUED, None, "421 try later")
    # Claiming a row that is not queued any more wins nothing.
    assert not ledger.advance(None, first.pk)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_prepared_ledger_statement_survives_a_new_database_connection():
    from django.db import connection

    campaign, _batch = sending_campaign(2)
    first, second = Delivery.objects.filter(campaign=campaign).order_by("id")
    assert ledger.advance(None, first.pk)
    connection.close()  # a new server session knows no prepared statement: prepared again
    assert ledger.advance(ledger.Done(first.pk, outcomes.Outcome.SENT), second.pk)
    assert Delivery.objects.get(pk=first.pk).status == DS.SENT


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_ledger_step_inside_a_transaction_is_rolled_back_with_it():
    from django.db import transaction

    campaign, _batch = sending_campaign(1)
    delivery = Delivery.objects.get(campaign=campaign)
    with pytest.raises(RuntimeError), transaction.atomic():
        assert ledger.advance(None, delivery.pk)  # the transaction's first statement
        raise RuntimeError("roll back")
    assert Delivery.objects.get(pk=delivery.pk).status == DS.QUEUED
    with transaction.atomic():
        assert ledger.advance(None, delivery.pk)
    assert Delivery.objects.get(pk=delivery.pk).status == DS.SENDING


@pytest.mark.postgres
def test_a_database_error_in_the_prepared_statement_raises_and_names_the_problem():
    import psycopg

    broken = ledger.PreparedStatement("tocsin_test_broken", "SELECT 1 / %(zero)s::int")
    with pytest.raises(psycopg.errors.DivisionByZero, match="division by zero"):
        ledger.execute_prepared(broken, {"zero": 0})


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_claimers_never_get_the_same_delivery():
    campaign, _batch = sending_campaign(60)
    ids = list(Delivery.objects.filter(campaign=campaign).order_by("id").values_list("id", flat=True))
    won: dict[str, list[int]] = {"a": [], "b": []}
    barrier = threading.Barrier(2)

    def claimer(name: str) -> None:
        from django.db import connection

        barrier.wait()
        try:
            for delivery_id in ids:
                if ledger.advance(None, delivery_id):
                    won[name].append(delivery_id)
        finally:
            connection.close()

    threads = [threading.Thread(target=claimer, args=(name,)) for name in won]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not set(won["a"]) & set(won["b"])
    assert sorted(won["a"] + won["b"]) == ids


def test_the_fast_smtp_serialisation_is_rfc_5322_and_matches_what_django_would_send():
    import email
    import email.policy

    from django.core.mail import EmailMultiAlternatives

    from campaigns.sending.mime import envelope_and_bytes

    html = "<p style='color:#c00'>Défenseurs de l\u2019eau détenus à Cajamarca " * 60 + "</p>"
    message = EmailMultiAlternatives(
        subject="Défenseurs détenus — Cajamarca " + "x" * 80,
        body="Bonjour Ana,\n\nTrois défenseurs de l\u2019eau ont été détenus.\n" * 30,
        from_email="Réseau Tocsin <bulletin@tocsin.example.org>",
        to=["Ana Quispe <ana@example.org>"],
        reply_to=["team@tocsin.example.org"],
        headers={
            "List-Unsubscribe": "<https://tocsin.example.org/u/abc:def/>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Message-ID": "<tocsin.1.2@tocsin.example.org>",
        },
    )
    message.attach_alternative(html, "text/html")

    sender, recipients, data = envelope_and_bytes(message)

    assert sender == "bulletin@tocsin.example.org" and recipients == ["ana@example.org"]
    assert all(len(line) <= 998 for line in data.split(b"\r\n"))
    assert b"\n" not in data.replace(b"\r\n", b"")
    parsed = email.message_from_bytes(data, policy=email.policy.strict)
    assert not parsed.defects and all(not part.defects for part in parsed.walk())
    assert parsed["Subject"] == message.subject
    assert parsed["From"].addresses[0].display_name == "Réseau Tocsin"
    assert parsed["To"] == "Ana Quispe <ana@example.org>"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed["Message-ID"] == "<tocsin.1.2@tocsin.example.org>"
    assert parsed["Date"] and parsed["MIME-Version"] == "1.0"
    assert parsed.get_body(preferencelist=("plain",)).get_content() == message.body
    assert parsed.get_body(preferencelist=("html",)).get_content() == html
    # The same message Django would build, header for header.
    django_version = email.message_from_bytes(message.message().as_bytes(), policy=email.policy.default)
    for header in ("Subject", "From", "To", "Reply-To", "List-Unsubscribe", "Message-ID"):
        assert str(parsed[header]).strip() == str(django_version[header]).strip()


def test_header_injection_is_refused_on_the_fast_path():
    from django.core.mail import BadHeaderError, EmailMultiAlternatives

    from campaigns.sending.mime import envelope_and_bytes

    message = EmailMultiAlternatives("Hi\nBcc: victim@example.org", "body", to=["a@example.org"])
    message.attach_alternative("<p>body</p>", "text/html")
    with pytest.raises(BadHeaderError):
        envelope_and_bytes(message)
