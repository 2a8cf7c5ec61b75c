"""campaigns.events.recording: the tracking signal -> DeliveryEvent rows and suppressions."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from anymail.signals import AnymailTrackingEvent, EventType, tracking
from django.utils import timezone

from campaigns.events import scrubbing
from campaigns.events.recording import record_first_party_event, record_provider_event
from campaigns.events.scrubbing import scrub_payload, scrub_text
from campaigns.events.tracking import click_url
from campaigns.models import DeliveryEvent
from subscribers.models import Subscriber, Suppression, email_hash
from tests.support.factories import make_delivery
from tests.support.payloads import WEBHOOK_SECRET, auth_header, postmark_bounce

pytestmark = pytest.mark.django_db


def event(event_type: str, **kwargs) -> AnymailTrackingEvent:  # type: ignore[no-untyped-def]
    kwargs.setdefault("timestamp", timezone.now())
    kwargs.setdefault("esp_event", {})
    return AnymailTrackingEvent(event_type=event_type, **kwargs)


def suppression_for(email: str) -> Suppression | None:
    return Suppression.objects.filter(email_hash=email_hash(email)).first()


def test_the_anymail_tracking_signal_reaches_the_event_store():
    delivery = make_delivery(esp_message_id="m-1")

    tracking.send(
        sender=object,
        event=event(EventType.DELIVERED, message_id="m-1", recipient="ana@example.org"),
        esp_name="Postmark",
    )

    assert DeliveryEvent.objects.get().delivery == delivery


def test_the_stored_payload_keeps_the_reason_but_not_the_address():
    raw = {
        "RecordType": "Bounce",
        "Email": "ana@example.org",
        "Details": "550 5.1.1 <ana@example.org>: user unknown",
        "Headers": [{"Name": "To", "Value": "ana@example.org"}],
        "mail": {"destination": ["ana@example.org"], "messageId": "m-1", "source": "us@example.org"},
        "client-info": {"user-agent": "Mozilla"},
        "ip": "203.0.113.9",
    }

    cleaned = scrub_payload(raw)

    text = json.dumps(cleaned)
    assert "ana@example.org" not in text and "203.0.113.9" not in text and "Mozilla" not in text
    assert cleaned["Details"] == "550 5.1.1 <[address]>: user unknown"
    assert cleaned["mail"]["messageId"] == "m-1"


def test_provider_unsubscribes_and_rejections_suppress_with_their_own_reason():
    make_delivery("ana@example.org", esp_message_id="m-1")
    make_delivery("ben@example.org", esp_message_id="m-2")

    record_provider_event(
        event=event(EventType.UNSUBSCRIBED, message_id="m-1", recipient="ana@example.org"), esp_name="Mailgun"
    )
    record_provider_event(
        event=event(EventType.REJECTED, message_id="m-2", recipient="ben@example.org", reject_reason="invalid"),
        esp_name="Mailgun",
    )

    assert suppression_for("ana@example.org").reason == Suppression.Reason.UNSUBSCRIBED
    assert Subscriber.objects.get(email="ana@example.org").status == Subscriber.Status.UNSUBSCRIBED
    assert suppression_for("ben@example.org").reason == Suppression.Reason.REJECTED


def test_deferrals_of_one_message_do_not_add_up_to_a_suppression(settings):
    settings.TOCSIN_SOFT_BOUNCE_LIMIT = 3
    make_delivery("ana@example.org", esp_message_id="m-1")

    for attempt in range(5):
        when = timezone.now() - timedelta(minutes=attempt)
        record_provider_event(
            event=event(EventType.DEFERRED, message_id="m-1", recipient="ana@example.org", timestamp=when),
            esp_name="Mailgun",
        )

    assert DeliveryEvent.objects.count() == 5
    assert suppression_for("ana@example.org") is None


def test_soft_bounces_older_than_the_window_do_not_count(settings):
    settings.TOCSIN_SOFT_BOUNCE_LIMIT = 2
    settings.TOCSIN_SOFT_BOUNCE_WINDOW_DAYS = 14
    make_delivery("ana@example.org", esp_message_id="m-1")
    old = timezone.now() - timedelta(days=30)

    record_provider_event(
        event=event(EventType.DEFERRED, message_id="m-old", recipient="ana@example.org", timestamp=old),
        esp_name="Mailgun",
    )
    record_provider_event(
        event=event(EventType.DEFERRED, message_id="m-1", recipient="ana@example.org"), esp_name="Mailgun"
    )
    assert suppression_for("ana@example.org") is None

    record_provider_event(
        event=event(EventType.DEFERRED, message_id="m-2", recipient="ana@example.org"), esp_name="Mailgun"
    )
    assert suppression_for("ana@example.org").reason == Suppression.Reason.BOUNCED


def test_queued_and_sent_notices_are_not_stored():
    make_delivery(esp_message_id="m-1")

    for kind in (EventType.QUEUED, EventType.SENT):
        assert (
            record_provider_event(
                event=event(kind, message_id="m-1", recipient="ana@example.org"), esp_name="Amazon SES"
            )
            is None
        )

    assert not DeliveryEvent.objects.exists()


def test_one_provider_id_for_several_recipients_stores_one_event_each():
    make_delivery("ana@example.org", esp_message_id="m-1")

    for address in ("ana@example.org", "ben@example.org"):
        record_provider_event(
            event=event(EventType.BOUNCED, event_id="sns-1", message_id="m-1", recipient=address), esp_name="Amazon SES"
        )

    assert DeliveryEvent.objects.count() == 2
    assert Suppression.objects.count() == 2


def test_a_provider_click_on_our_own_redirect_is_stored_with_the_real_link():
    delivery = make_delivery(esp_message_id="m-1")
    tracked = click_url(delivery_id=delivery.pk, url="https://example.org/article")

    record_provider_event(
        event=event(EventType.CLICKED, message_id="m-1", recipient="ana@example.org", click_url=tracked),
        esp_name="Postmark",
    )

    assert DeliveryEvent.objects.get().url == "https://example.org/article"


def test_first_party_opens_and_clicks_never_suppress():
    delivery = make_delivery()

    record_first_party_event(delivery_id=delivery.pk, kind=DeliveryEvent.Kind.OPENED)
    record_first_party_event(delivery_id=delivery.pk, kind=DeliveryEvent.Kind.CLICKED, url="https://example.org/")

    assert DeliveryEvent.objects.count() == 2
    assert not Suppression.objects.exists()


def test_unique_counts_grow_once_per_delivery_whichever_way_the_event_arrives():
    from campaigns.events.stats import rebuild_campaign_stats
    from campaigns.reports.figures import campaign_report

    first, second = make_delivery("ana@example.org", esp_message_id="m-1"), None
    second = make_delivery("ben@example.org", campaign=first.campaign, esp_message_id="m-2")
    record_first_party_event(delivery_id=first.pk, kind=DeliveryEvent.Kind.OPENED)
    record_provider_event(
        event=event(EventType.OPENED, message_id="m-1", recipient="ana@example.org"), esp_name="Postmark"
    )
    record_provider_event(
        event=event(EventType.OPENED, message_id="m-2", recipient="ben@example.org"), esp_name="Postmark"
    )
    record_first_party_event(delivery_id=second.pk, kind=DeliveryEvent.Kind.CLICKED, url="https://example.org/a")
    record_first_party_event(delivery_id=second.pk, kind=DeliveryEvent.Kind.CLICKED, url="https://example.org/b")

    live = campaign_report(first.campaign)
    rebuild_campaign_stats(first.campaign_id)
    rebuilt = campaign_report(first.campaign)

    assert (live.unique_opens, live.unique_clicks) == (2, 1)
    assert (rebuilt.unique_opens, rebuilt.unique_clicks) == (2, 1)


def test_a_first_party_unsubscribe_counts_against_the_latest_campaign_once():
    from campaigns.events.recording import record_unsubscribe
    from campaigns.reports.figures import campaign_report

    delivery = make_delivery("ana@example.org")

    record_unsubscribe(subscriber_id=delivery.subscriber_id)
    record_unsubscribe(subscriber_id=delivery.subscriber_id)

    assert campaign_report(delivery.campaign).unsubscribes == 1
    assert record_unsubscribe(subscriber_id=delivery.subscriber_id, when=timezone.now() + timedelta(days=40)) is None


# --- Scrubbing addresses out of long texts ----------------------------------------------


def test_only_a_bounded_prefix_of_a_huge_reason_is_scrubbed(monkeypatch):
    scanned: list[int] = []

    class Spy:
        def sub(self, replacement: str, text: str) -> str:
            scanned.append(len(text))
            return text

    monkeypatch.setattr(scrubbing, "ADDRESS_RE", Spy())

    result = scrub_text("x" * 1_000_000)

    assert scanned and max(scanned) <= scrubbing.MAX_SCRUBBED
    assert len(result) == 500


def test_the_address_pattern_takes_a_megabyte_with_no_at_sign_in_one_pass():
    # Before, each position of a run without "@" started a new scan to the
    # run's end: 100 KB took 15 s, and this megabyte about half an hour.
    for text in ["a" * 1_000_000, "a@" * 500_000, ("b" * 999 + "@") * 1000]:
        scrubbed = scrubbing.ADDRESS_RE.sub("[address]", text)
        assert "@" not in scrubbed


def test_an_address_cut_in_two_by_the_bound_is_dropped_not_half_kept():
    filler = "x " * ((scrubbing.MAX_SCRUBBED - 4) // 2)
    text = filler + "jane.doe@example.org and more"
    assert text[: scrubbing.MAX_SCRUBBED].endswith(" jane")  # the bound falls before the "@"

    scrubbed = scrub_text(text, limit=len(text))

    assert "jane" not in scrubbed and "example" not in scrubbed
    assert scrubbed.startswith(filler[:100])


def test_addresses_are_still_scrubbed_wherever_they_stand():
    text = "550 <jane@x.org>: unknown; cc:ana@example.org, (bob@example.net) @lone trailing@ a@b"
    assert scrub_text(text) == "550 <[address]>: unknown; cc:[address], ([address]) @lone trailing@ [address]"


def test_a_megabyte_bounce_reason_from_a_provider_is_stored_trimmed(client, settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": WEBHOOK_SECRET}
    make_delivery("ana@example.org", esp_message_id="m-1")
    payload = postmark_bounce(email="ana@example.org", message_id="m-1")
    payload["Details"] = "smtp;550 <ana@example.org> " + "z" * 1_000_000
    payload["Content"] = "y" * 1_000_000

    response = client.post(
        "/anymail/postmark/tracking/", json.dumps(payload), content_type="application/json", **auth_header()
    )

    assert response.status_code == 200
    event = DeliveryEvent.objects.get()
    assert event.reason.startswith("The server was unable to deliver your message")
    assert len(event.reason) == 500 and "ana@example.org" not in event.reason
    assert len(event.payload["raw"]["Details"]) == 500
