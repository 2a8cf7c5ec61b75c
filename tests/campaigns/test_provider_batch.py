"""Sending through Postmark: one message per call via Anymail, and many per call via /email/batch.

A Postmark stand-in (tests/support/postmark.py) listens on 127.0.0.1 and
answers from a script, so each test decides what the provider says.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core import mail
from django.core.mail import get_connection

from campaigns.models import Campaign, Delivery, SendBatch
from campaigns.sending import engine
from campaigns.sending.rendering import CampaignRenderer
from campaigns.sending.transports import postmark as postmark_transport
from subscribers.models import Subscriber, Suppression, email_hash
from tests.support.postmark import PostmarkStub, accept
from tests.support.sending import run, sending_campaign

pytestmark = pytest.mark.django_db
DS = Delivery.Status


@pytest.fixture
def postmark(settings) -> Iterator[PostmarkStub]:  # type: ignore[no-untyped-def]
    stub = PostmarkStub()
    settings.ESP = "postmark"
    settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
    # No IGNORE_UNSUPPORTED_FEATURES: what Anymail refuses must fail here as it would in production.
    settings.ANYMAIL = {"POSTMARK_SERVER_TOKEN": "server-token", "POSTMARK_API_URL": stub.url}
    settings.TOCSIN_SEND_ESP_BATCH = 100
    settings.TOCSIN_SEND_RATE = 0
    yield stub
    stub.close()


def statuses(campaign: Campaign) -> list[str]:
    return list(Delivery.objects.filter(campaign=campaign).order_by("subscriber_id").values_list("status", flat=True))


def release(batch: SendBatch) -> None:
    SendBatch.objects.filter(pk=batch.pk).update(lease_until=None, lease_token="")


def test_a_campaign_message_is_accepted_by_anymails_postmark_backend_one_per_call(postmark, settings):
    settings.TOCSIN_SEND_ESP_BATCH = 1  # the plain Anymail path: send_messages, one call per message
    campaign, batch = sending_campaign(2)

    result = run(campaign, batch, threads=1)

    assert result.sent == 2 and result.failed == 0 and result.finished
    assert [path for path, _h, _b in postmark.calls] == ["/email", "/email"]
    for message in postmark.messages():
        assert message["Tag"] == f"campaign-{campaign.pk}"
        assert message["Metadata"]["kind"] == "bulletin"
    delivery = Delivery.objects.filter(campaign=campaign).first()
    assert delivery.esp_message_id == f"pm-{delivery.pk}"


@pytest.mark.parametrize(
    "esp", ["postmark", "sparkpost", "mailjet", "mailtrap", "amazon_ses", "brevo", "mailgun", "resend"]
)
def test_each_provider_accepts_a_campaign_message_as_rendered(esp, settings):
    """Postmark, SparkPost, Mailjet and Mailtrap take one tag; SES, Brevo, Mailtrap, Resend no tracking switch."""
    settings.ESP = esp
    settings.ANYMAIL = {
        "POSTMARK_SERVER_TOKEN": "t",
        "SPARKPOST_API_KEY": "k",
        "MAILJET_API_KEY": "k",
        "MAILJET_SECRET_KEY": "s",
        "MAILTRAP_API_TOKEN": "t",
        "BREVO_API_KEY": "k",
        "MAILGUN_API_KEY": "k",
        "MAILGUN_SENDER_DOMAIN": "example.org",
        "SENDGRID_API_KEY": "k",
        "RESEND_API_KEY": "k",
        "AMAZON_SES_CLIENT_PARAMS": {"region_name": "us-east-1"},
    }
    campaign, _batch = sending_campaign(1)
    person = Subscriber.objects.get()
    message = CampaignRenderer(campaign).render(subscriber=person, delivery_id=7)
    backend = get_connection(f"anymail.backends.{esp}.EmailBackend")

    backend.build_message_payload(message, backend.send_defaults)  # raises on an unsupported feature


def test_a_batch_goes_out_in_one_call_with_what_anymail_would_send_for_each_message(postmark):
    campaign, batch = sending_campaign(5)

    result = run(campaign, batch, threads=1)

    assert result.sent == 5 and result.finished
    [(path, headers, body)] = postmark.calls
    assert path == "/email/batch"
    assert headers["X-Postmark-Server-Token"] == "server-token"
    deliveries = {d.pk: d for d in Delivery.objects.filter(campaign=campaign).select_related("subscriber")}
    assert sorted(int(m["Metadata"]["delivery_id"]) for m in body) == sorted(deliveries)
    renderer = CampaignRenderer(campaign)
    anymail = get_connection()
    for element in body:
        delivery = deliveries[int(element["Metadata"]["delivery_id"])]
        assert element["To"] == delivery.subscriber.email
        assert element["Tag"] == f"campaign-{campaign.pk}"
        assert "List-Unsubscribe" in {h["Name"] for h in element["Headers"]}
        # Field for field what Anymail's own backend builds for POST /email.
        message = renderer.render(subscriber=delivery.subscriber, delivery_id=delivery.pk)
        assert element == anymail.build_message_payload(message, anymail.send_defaults).data
    assert all(d.status == DS.SENT and d.esp_message_id == f"pm-{d.pk}" for d in deliveries.values())


def test_messages_are_marked_sending_before_the_call_that_carries_them(postmark, monkeypatch):
    campaign, batch = sending_campaign(3)
    seen: list[list[str]] = []
    real_send = postmark_transport.PostmarkBatch.send

    def spy(self, prepared):  # type: ignore[no-untyped-def]
        seen.append(statuses(campaign))
        return real_send(self, prepared)

    monkeypatch.setattr(postmark_transport.PostmarkBatch, "send", spy)
    run(campaign, batch, threads=1)

    assert seen == [[DS.SENDING] * 3]
    assert statuses(campaign) == [DS.SENT] * 3


@pytest.mark.parametrize(
    ("code", "text", "suppressed"),
    [
        (406, "You tried to send to recipient(s) that have been marked as inactive.", True),
        (300, "Invalid 'To' address: 'person1@example.org'.", True),
        (300, "Invalid metadata content.", False),
    ],
    ids=["inactive", "invalid-to", "invalid-message"],
)
def test_a_rejected_recipient_inside_a_batch_fails_alone(postmark, code, text, suppressed):
    campaign, batch = sending_campaign(3)
    person = Subscriber.objects.order_by("id")[1]

    def reject_one(messages):  # type: ignore[no-untyped-def]
        status, answers = accept(messages)
        for answer in answers:
            if answer["To"] == person.email:
                answer.update(ErrorCode=code, Message=text, MessageID="")
        return status, answers

    postmark.answers = [reject_one]
    result = run(campaign, batch, threads=1)

    assert result.sent == 2 and result.failed == 1 and result.finished
    assert statuses(campaign) == [DS.SENT, DS.FAILED, DS.SENT]
    assert str(code) in Delivery.objects.get(campaign=campaign, subscriber=person).error
    assert Suppression.objects.filter(email_hash=email_hash(person.email)).exists() is suppressed


@pytest.mark.parametrize("status", [429, 500, 503, 401])
def test_a_refused_call_is_retried_without_resending_what_succeeded(postmark, settings, status):
    settings.TOCSIN_SEND_ESP_BATCH = 2
    campaign, batch = sending_campaign(5)
    postmark.answers = [accept, lambda messages: (status, {"ErrorCode": 100, "Message": "Try later"})]

    result = run(campaign, batch, threads=1)

    assert result.retry_error and str(status) in result.retry_error and result.sent == 2
    assert statuses(campaign) == [DS.SENT, DS.SENT, DS.QUEUED, DS.QUEUED, DS.QUEUED]
    assert isinstance(engine.after_transient(result), engine.Retry)  # back-off, not a pause yet

    postmark.answers = [accept]
    postmark.calls.clear()
    release(batch)
    again = run(campaign, batch, threads=1)

    assert again.sent == 3 and again.finished
    assert statuses(campaign) == [DS.SENT] * 5
    sent_again = {m["To"] for m in postmark.messages()}
    assert sent_again == {s.email for s in Subscriber.objects.order_by("id")[2:]}


def test_an_unreachable_provider_sends_nothing_and_is_retried(postmark, settings):
    postmark.server.shutdown()
    postmark.server.server_close()  # nothing listens there any more: connection refused
    campaign, batch = sending_campaign(2)

    result = run(campaign, batch, threads=1)

    assert result.retry_error and result.sent == 0 and result.unknown == 0
    assert statuses(campaign) == [DS.QUEUED, DS.QUEUED]


@pytest.mark.parametrize(
    "answer",
    [
        lambda messages: (200, b"<html>Bad gateway</html>"),
        lambda messages: (200, accept(messages)[1][:-1]),
        lambda messages: (200, [{**a, "To": "someone@else.example"} for a in accept(messages)[1]]),
        lambda messages: (200, {"Message": "not a list"}),
    ],
    ids=["not-json", "one-answer-missing", "another-address", "not-a-list"],
)
def test_an_answer_that_makes_no_sense_leaves_the_call_unknown_and_never_resends_it(postmark, answer):
    campaign, batch = sending_campaign(3)
    postmark.answers = [answer]

    result = run(campaign, batch, threads=1)

    assert result.unknown == 3 and result.sent == 0
    assert statuses(campaign) == [DS.UNKNOWN] * 3
    release(batch)
    postmark.answers = [accept]
    postmark.calls.clear()
    run(campaign, batch, threads=1)
    assert postmark.calls == []  # unknown is re-sent only by an explicit staff action


def test_a_lost_answer_leaves_the_call_unknown(postmark, settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "REQUESTS_TIMEOUT": 0.3}
    postmark.delay = 1.0
    campaign, batch = sending_campaign(2)

    result = run(campaign, batch, threads=1)

    assert result.unknown == 2
    assert statuses(campaign) == [DS.UNKNOWN, DS.UNKNOWN]
    assert "Timeout" in Delivery.objects.filter(campaign=campaign).first().error


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_several_calls_in_flight_send_everyone_once(postmark, settings):
    settings.TOCSIN_SEND_ESP_BATCH = 3
    campaign, batch = sending_campaign(10)
    postmark.delay = 0.05

    result = run(campaign, batch, threads=4)

    assert result.sent == 10 and result.finished
    assert len(postmark.calls) == 4 and all(path == "/email/batch" for path, _h, _b in postmark.calls)
    assert sorted(m["To"] for m in postmark.messages()) == sorted(Subscriber.objects.values_list("email", flat=True))
    assert statuses(campaign) == [DS.SENT] * 10
    assert not mail.outbox
