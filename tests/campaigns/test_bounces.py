"""Bounces without a provider: returned messages piped to ``manage.py ingest_bounce`` as a mail server would.

Each test runs the command in its own process against the test database, with
a returned message written the way Postfix, Exim, Gmail, Microsoft 365 or a
feedback loop writes it (tests/campaigns/bounce_samples.py).
"""

from __future__ import annotations

import pytest
from django.conf import settings

from campaigns.events.bounces import verp
from campaigns.models import CampaignStat, Delivery, DeliveryEvent
from subscribers.models import Subscriber, Suppression, email_hash
from subscribers.services.leaving import is_suppressed
from tests.support import bounce_samples
from tests.support.bounce_samples import ingest_bounce
from tests.support.factories import make_delivery

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
Kind = DeliveryEvent.Kind


def bounce_address(delivery: Delivery) -> str:
    return verp.envelope_sender(delivery_id=delivery.pk, envelope_from="bulletin@tocsin.example.org")


def returned(name: str, delivery: Delivery, *, n: int = 1) -> bytes:
    return bounce_samples.render(name, verp=bounce_address(delivery), rcpt=delivery.subscriber.email, n=n)


@pytest.mark.parametrize("sample", ["postfix_hard", "exim_hard", "gmail_hard", "microsoft_hard"])
def test_a_hard_bounce_suppresses_the_address_of_its_delivery(sample):
    delivery = make_delivery("reader@example.net", esp_message_id="<tocsin.1.1@tocsin.example.org>")

    done = ingest_bounce(returned(sample, delivery))

    assert done.returncode == 0, done.stderr.decode()
    assert b"recorded" in done.stdout
    event = DeliveryEvent.objects.get(delivery=delivery)
    assert event.kind == Kind.BOUNCED
    assert event.payload["esp"] == "smtp"
    assert is_suppressed("reader@example.net")
    assert Suppression.objects.get(email_hash=email_hash("reader@example.net")).reason == Suppression.Reason.BOUNCED
    assert CampaignStat.objects.get(campaign=delivery.campaign, kind=Kind.BOUNCED).count == 1


def test_a_complaint_report_suppresses_the_address():
    delivery = make_delivery("reader@example.net")

    done = ingest_bounce(returned("arf_complaint", delivery))

    assert done.returncode == 0, done.stderr.decode()
    assert DeliveryEvent.objects.get(delivery=delivery).kind == Kind.COMPLAINED
    assert Suppression.objects.get(email_hash=email_hash("reader@example.net")).reason == Suppression.Reason.COMPLAINED


@pytest.mark.parametrize(
    ("sample", "kind"), [("microsoft_expired", Kind.SOFT_BOUNCED), ("postfix_delayed", Kind.DEFERRED)]
)
def test_a_soft_bounce_counts_but_does_not_suppress(sample, kind):
    delivery = make_delivery("reader@example.net", esp_message_id="<tocsin.1.1@tocsin.example.org>")

    done = ingest_bounce(returned(sample, delivery))

    assert done.returncode == 0, done.stderr.decode()
    assert DeliveryEvent.objects.get(delivery=delivery).kind == kind
    assert not is_suppressed("reader@example.net")
    assert Subscriber.objects.get(email="reader@example.net").status == Subscriber.Status.CONFIRMED


def test_soft_bounces_on_as_many_messages_as_the_limit_suppress(settings):
    limit = settings.TOCSIN_SOFT_BOUNCE_LIMIT
    first = make_delivery("reader@example.net", esp_message_id="<m0@tocsin.example.org>")
    deliveries = [first]
    for i in range(1, limit):
        other = make_delivery(f"other{i}@example.org", esp_message_id=f"<m{i}@tocsin.example.org>")
        deliveries.append(
            Delivery.objects.create(
                campaign=other.campaign, subscriber=first.subscriber, status="sent", esp_message_id=f"<x{i}@t>"
            )
        )
    for n, delivery in enumerate(deliveries):
        assert not is_suppressed("reader@example.net")
        assert ingest_bounce(returned("microsoft_expired", delivery, n=n)).returncode == 0

    assert is_suppressed("reader@example.net")


def test_the_same_bounce_read_twice_is_recorded_once():
    delivery = make_delivery("reader@example.net")
    raw = returned("postfix_hard", delivery)

    assert b"recorded" in ingest_bounce(raw).stdout
    again = ingest_bounce(raw)

    assert again.returncode == 0 and b"already recorded" in again.stdout
    assert DeliveryEvent.objects.filter(delivery=delivery).count() == 1


def test_a_forged_bounce_changes_nothing():
    delivery = make_delivery("reader@example.net")
    token = verp.token_for(delivery.pk)
    forged_mac = ("a" if token[-1] != "a" else "b").join([token[:-1], ""])
    forged = f"bounces+{forged_mac}@tocsin.example.org"
    # Someone who knows the scheme and the address, but not the server's key.
    raw = bounce_samples.render("postfix_hard", verp=forged, rcpt="reader@example.net")

    done = ingest_bounce(raw)

    assert done.returncode == 0, done.stderr.decode()
    assert b"no validly signed bounce address" in done.stdout
    assert not DeliveryEvent.objects.exists()
    assert not is_suppressed("reader@example.net")


def test_a_bounce_naming_the_recipient_without_a_token_changes_nothing():
    make_delivery("reader@example.net")
    raw = bounce_samples.render("gmail_hard", verp="bulletin@tocsin.example.org", rcpt="reader@example.net")

    assert ingest_bounce(raw).returncode == 0
    assert not DeliveryEvent.objects.exists()
    assert not is_suppressed("reader@example.net")


def test_an_auto_reply_is_not_a_bounce():
    delivery = make_delivery("reader@example.net")

    done = ingest_bounce(returned("vacation_reply", delivery))

    assert done.returncode == 0 and b"ignored" in done.stdout
    assert not DeliveryEvent.objects.exists()


@pytest.mark.parametrize("raw", [b"", b"\x00\xff\xfe not mail at all", b"Subject: hi\r\n\r\nno bounce here\r\n"])
def test_garbage_on_standard_input_is_answered_clearly_with_exit_0(raw):
    done = ingest_bounce(raw)

    assert done.returncode == 0, done.stderr.decode()
    assert b"ignored" in done.stdout
    assert b"Traceback" not in done.stderr


def test_the_token_names_its_delivery_and_resists_tampering():
    token = verp.token_for(123456789)
    assert verp.delivery_id_of(token) == 123456789
    assert verp.delivery_id_of(token.upper()) == 123456789  # servers that fold the case
    assert verp.delivery_id_of(verp.token_for(2).split("-")[0] + "-" + token.split("-")[1]) is None
    assert verp.delivery_id_of("zz-zz") is None
    assert verp.envelope_sender(delivery_id=7, envelope_from="a@org.example").endswith("@org.example")
    settings.TOCSIN_BOUNCE_DOMAIN = "bounces.example.org"
    try:
        assert verp.envelope_sender(delivery_id=7, envelope_from="a@org.example").endswith("@bounces.example.org")
    finally:
        settings.TOCSIN_BOUNCE_DOMAIN = ""
