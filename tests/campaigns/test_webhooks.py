"""Real provider payloads posted through Anymail's webhook views under /anymail/."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from campaigns.models import DeliveryEvent, RefusedWebhook
from subscribers.models import Consent, Subscriber, Suppression, email_hash
from tests.support.factories import make_delivery
from tests.support.payloads import (
    MAILGUN_SIGNING_KEY,
    WEBHOOK_SECRET,
    auth_header,
    brevo_event,
    mailgun_failed,
    postmark_bounce,
    postmark_delivery,
    postmark_spam_complaint,
    ses_bounce,
    ses_complaint,
    ses_sns_notification,
    sns_headers,
)

pytestmark = pytest.mark.django_db

POSTMARK = "/anymail/postmark/tracking/"
SES = "/anymail/amazon_ses/tracking/"
MAILGUN = "/anymail/mailgun/tracking/"
BREVO = "/anymail/brevo/tracking/"


@pytest.fixture(autouse=True)
def _webhook_settings(settings):  # type: ignore[no-untyped-def]
    settings.ANYMAIL = {"WEBHOOK_SECRET": WEBHOOK_SECRET, "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_SIGNING_KEY}


def post(client, url, payload, *, auth=True, **extra):  # type: ignore[no-untyped-def]
    body = payload if isinstance(payload, (str, bytes)) else json.dumps(payload)
    headers = auth_header() if auth is True else (auth or {})
    return client.post(url, data=body, content_type="application/json", **headers, **extra)


def is_suppressed(email: str) -> bool:
    return Suppression.objects.filter(email_hash=email_hash(email)).exists()


def test_the_webhook_urls_are_mounted_under_anymail():
    assert reverse("anymail:postmark_tracking_webhook") == POSTMARK
    assert reverse("anymail:amazon_ses_tracking_webhook") == SES


# --- Postmark ----------------------------------------------------------------------


def test_a_postmark_hard_bounce_suppresses_the_address_and_records_why(client):
    delivery = make_delivery("ana@example.org", esp_message_id="883953f4-6105-42a2-a16a-77a8eac79483")

    response = post(client, POSTMARK, postmark_bounce(email="ana@example.org", message_id=delivery.esp_message_id))

    assert response.status_code == 200
    event = DeliveryEvent.objects.get()
    assert event.kind == DeliveryEvent.Kind.BOUNCED
    assert event.delivery == delivery and event.campaign == delivery.campaign
    assert event.recipient_hash == email_hash("ana@example.org")
    assert "ana@example.org" not in json.dumps(event.payload)
    assert "ana@example.org" not in event.reason
    assert is_suppressed("ana@example.org")
    subscriber = Subscriber.objects.get(pk=delivery.subscriber_id)
    assert subscriber.status == Subscriber.Status.BOUNCED
    consent = subscriber.consents.get(action=Consent.Action.SUPPRESS)
    assert consent.channel == Consent.Channel.BOUNCE
    assert "unable to deliver" in consent.detail


def test_a_replayed_postmark_bounce_changes_nothing(client):
    delivery = make_delivery("ana@example.org", esp_message_id="883953f4-6105-42a2-a16a-77a8eac79483")
    payload = postmark_bounce(email="ana@example.org", message_id=delivery.esp_message_id)

    assert post(client, POSTMARK, payload).status_code == 200
    assert post(client, POSTMARK, payload).status_code == 200

    assert DeliveryEvent.objects.count() == 1
    assert Suppression.objects.count() == 1
    assert Consent.objects.filter(action=Consent.Action.SUPPRESS).count() == 1


def test_a_postmark_delivery_is_matched_through_its_metadata(client):
    delivery = make_delivery("ana@example.org", esp_message_id="")
    metadata = {"campaign_id": str(delivery.campaign_id), "delivery_id": str(delivery.pk)}

    post(client, POSTMARK, postmark_delivery(email="ana@example.org", message_id="some-other-id", metadata=metadata))

    event = DeliveryEvent.objects.get()
    assert event.kind == DeliveryEvent.Kind.DELIVERED
    assert event.delivery == delivery
    assert not is_suppressed("ana@example.org")


def test_a_postmark_spam_complaint_suppresses_as_a_complaint(client):
    delivery = make_delivery("ana@example.org", esp_message_id="00000000-0000-0000-0000-000000000000")

    post(client, POSTMARK, postmark_spam_complaint(email="ana@example.org", message_id=delivery.esp_message_id))

    assert Suppression.objects.get().reason == Suppression.Reason.COMPLAINED
    assert Subscriber.objects.get().status == Subscriber.Status.COMPLAINED
    assert DeliveryEvent.objects.get().kind == DeliveryEvent.Kind.COMPLAINED


def test_a_postmark_soft_bounce_does_not_suppress_at_once(client):
    delivery = make_delivery("ana@example.org", esp_message_id="m-1")

    post(client, POSTMARK, postmark_bounce(email="ana@example.org", message_id="m-1", bounce_type="SoftBounce"))

    assert DeliveryEvent.objects.get().kind == DeliveryEvent.Kind.SOFT_BOUNCED
    assert not is_suppressed("ana@example.org")
    assert Subscriber.objects.get(pk=delivery.subscriber_id).status == Subscriber.Status.CONFIRMED


@pytest.mark.parametrize(
    "auth",
    [None, {"HTTP_AUTHORIZATION": "Basic " + "aG9va3M6d3Jvbmc="}, {"HTTP_AUTHORIZATION": "Bearer nonsense"}],
    ids=["no-auth", "wrong-password", "not-basic"],
)
def test_an_unauthenticated_postmark_post_is_refused_and_changes_nothing(client, auth):
    make_delivery("ana@example.org", esp_message_id="m-1")

    response = post(client, POSTMARK, postmark_bounce(email="ana@example.org", message_id="m-1"), auth=auth or {})

    assert response.status_code in {400, 401, 403}
    assert not DeliveryEvent.objects.exists()
    assert not is_suppressed("ana@example.org")


def test_a_bounce_for_a_message_we_did_not_send_still_suppresses_the_address(client):
    subscriber = make_delivery("ana@example.org", esp_message_id="ours").subscriber

    post(client, POSTMARK, postmark_bounce(email="Ana@Example.org", message_id="from-another-stream"))

    event = DeliveryEvent.objects.get()
    assert event.delivery is None and event.campaign is None
    assert is_suppressed("ana@example.org")
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.BOUNCED


def test_a_bounce_for_an_address_we_never_had_suppresses_it_for_the_future(client):
    post(client, POSTMARK, postmark_bounce(email="stranger@example.net", message_id="unknown"))

    assert is_suppressed("stranger@example.net")


@pytest.mark.parametrize("body", ["{not json", "", "[]", '"a string"', "null", '{"RecordType": ["Bounce"]}'])
def test_a_malformed_postmark_body_is_acknowledged_and_recorded_as_refused(client, body):
    response = post(client, POSTMARK, body)

    # Postmark retries anything but a 2xx (or a 403) for hours: this body never gets better.
    assert response.status_code == 200
    assert RefusedWebhook.objects.get().provider == "Postmark"
    assert not DeliveryEvent.objects.exists()


# --- Amazon SES through SNS ----------------------------------------------------------
# Anymail does not verify SNS message signatures: the WEBHOOK_SECRET basic
# auth is the only guard on this URL.


def test_an_ses_permanent_bounce_through_sns_suppresses_the_address(client):
    delivery = make_delivery("ana@example.org", esp_message_id="EXAMPLE7c191be45-e9aedb9a-000000")
    notification = ses_sns_notification(ses_bounce(email="ana@example.org", message_id=delivery.esp_message_id))

    response = post(client, SES, notification, **sns_headers(notification))

    assert response.status_code == 200
    event = DeliveryEvent.objects.get()
    assert event.kind == DeliveryEvent.Kind.BOUNCED and event.delivery == delivery
    assert "ana@example.org" not in json.dumps(event.payload) + event.reason
    assert is_suppressed("ana@example.org")


def test_a_replayed_ses_notification_changes_nothing(client):
    make_delivery("ana@example.org", esp_message_id="ses-1")
    notification = ses_sns_notification(ses_bounce(email="ana@example.org", message_id="ses-1"))

    post(client, SES, notification, **sns_headers(notification))
    post(client, SES, notification, **sns_headers(notification))

    assert DeliveryEvent.objects.count() == 1
    assert Consent.objects.filter(action=Consent.Action.SUPPRESS).count() == 1


def test_an_ses_complaint_suppresses_as_a_complaint(client):
    make_delivery("ana@example.org", esp_message_id="ses-1")
    notification = ses_sns_notification(ses_complaint(email="ana@example.org", message_id="ses-1"))

    post(client, SES, notification, **sns_headers(notification))

    assert Suppression.objects.get().reason == Suppression.Reason.COMPLAINED


def test_an_ses_transient_bounce_is_soft(client):
    make_delivery("ana@example.org", esp_message_id="ses-1")
    notification = ses_sns_notification(
        ses_bounce(email="ana@example.org", message_id="ses-1", bounce_type="Transient")
    )

    post(client, SES, notification, **sns_headers(notification))

    assert DeliveryEvent.objects.get().kind == DeliveryEvent.Kind.SOFT_BOUNCED
    assert not is_suppressed("ana@example.org")


def test_an_ses_notification_without_basic_auth_is_refused(client):
    make_delivery("ana@example.org", esp_message_id="ses-1")
    notification = ses_sns_notification(ses_bounce(email="ana@example.org", message_id="ses-1"))

    response = post(client, SES, notification, auth=None, **sns_headers(notification))
    forged = post(
        client, SES, notification, auth={"HTTP_AUTHORIZATION": "Basic aG9va3M6d3Jvbmc="}, **sns_headers(notification)
    )

    assert response.status_code == 401
    assert forged.status_code == 400
    assert not DeliveryEvent.objects.exists()
    assert not is_suppressed("ana@example.org")


def test_malformed_sns_bodies_are_acknowledged_and_recorded_as_refused(client):
    for body, headers in [
        ("{nope", {"HTTP_X_AMZ_SNS_MESSAGE_TYPE": "Notification"}),
        (json.dumps({"Type": "Notification", "MessageId": "1", "Message": "{broken"}), {}),
        (json.dumps({"Type": "Notification", "MessageId": "1", "Message": json.dumps({"eventType": "Bounce"})}), {}),
    ]:
        extra = {"HTTP_X_AMZ_SNS_MESSAGE_TYPE": "Notification", "HTTP_X_AMZ_SNS_MESSAGE_ID": "1", **headers}
        assert post(client, SES, body, **extra).status_code == 200
    assert RefusedWebhook.objects.count() == 3
    assert not DeliveryEvent.objects.exists()


# --- Mailgun (signed with the webhook signing key) ------------------------------------


def test_a_signed_mailgun_permanent_failure_suppresses_the_address(client):
    delivery = make_delivery("alice@example.com", esp_message_id="<20130503182626.18666.16540@mg.example.org>")
    payload = mailgun_failed(
        email="alice@example.com",
        message_id="20130503182626.18666.16540@mg.example.org",
        user_variables={"delivery_id": str(delivery.pk), "campaign_id": str(delivery.campaign_id)},
    )

    response = post(client, MAILGUN, payload)

    assert response.status_code == 200
    event = DeliveryEvent.objects.get()
    assert event.delivery == delivery and event.kind == DeliveryEvent.Kind.BOUNCED
    assert "alice@example.com" not in json.dumps(event.payload) + event.reason
    assert is_suppressed("alice@example.com")


def test_a_mailgun_post_with_a_bad_signature_is_refused(client):
    make_delivery("alice@example.com", esp_message_id="<m@mg>")
    forged = mailgun_failed(email="alice@example.com", message_id="m@mg", key="not-the-key")

    response = post(client, MAILGUN, forged)

    assert response.status_code == 400
    assert not DeliveryEvent.objects.exists()
    assert not is_suppressed("alice@example.com")


def test_a_mailgun_temporary_failure_is_soft(client):
    make_delivery("alice@example.com", esp_message_id="<m@mg>")

    post(client, MAILGUN, mailgun_failed(email="alice@example.com", message_id="m@mg", severity="temporary"))

    assert DeliveryEvent.objects.get().kind == DeliveryEvent.Kind.DEFERRED
    assert not is_suppressed("alice@example.com")


def test_a_malformed_mailgun_body_is_a_400(client):
    assert post(client, MAILGUN, "{oops").status_code == 400


def test_mailgun_without_a_configured_signing_key_is_a_400_not_a_500(client, settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": WEBHOOK_SECRET}

    response = post(client, MAILGUN, mailgun_failed(email="alice@example.com", message_id="m@mg"))

    assert response.status_code == 400


# --- Brevo -----------------------------------------------------------------------------


def test_a_brevo_hard_bounce_suppresses_the_address(client):
    delivery = make_delivery("maria@example.org", esp_message_id="<201798300811.5787683@relay.domain.com>")
    metadata = {"delivery_id": str(delivery.pk), "campaign_id": str(delivery.campaign_id)}

    response = post(
        client, BREVO, brevo_event(event="hard_bounce", email="maria@example.org", message_id="x", metadata=metadata)
    )

    assert response.status_code == 200
    event = DeliveryEvent.objects.get()
    assert event.delivery == delivery and event.kind == DeliveryEvent.Kind.BOUNCED
    assert is_suppressed("maria@example.org")


def test_a_replayed_brevo_event_without_an_id_changes_nothing(client):
    make_delivery("maria@example.org", esp_message_id="<b-1@relay>")
    payload = brevo_event(event="hard_bounce", email="maria@example.org", message_id="<b-1@relay>")

    post(client, BREVO, payload)
    post(client, BREVO, payload)

    assert DeliveryEvent.objects.count() == 1


def test_brevo_soft_bounces_suppress_only_after_the_limit_within_the_window(client, settings):
    settings.TOCSIN_SOFT_BOUNCE_LIMIT = 3
    make_delivery("maria@example.org", esp_message_id="<b-1@relay>")

    post(client, BREVO, brevo_event(event="soft_bounce", email="maria@example.org", message_id="<b-1@relay>"))
    post(client, BREVO, brevo_event(event="soft_bounce", email="maria@example.org", message_id="<b-2@relay>"))
    assert not is_suppressed("maria@example.org")

    post(client, BREVO, brevo_event(event="soft_bounce", email="maria@example.org", message_id="<b-3@relay>"))

    assert DeliveryEvent.objects.filter(kind=DeliveryEvent.Kind.SOFT_BOUNCED).count() == 3
    assert Suppression.objects.get(email_hash=email_hash("maria@example.org")).reason == Suppression.Reason.BOUNCED


def test_a_brevo_post_without_auth_is_refused(client):
    response = post(
        client, BREVO, brevo_event(event="hard_bounce", email="maria@example.org", message_id="x"), auth=None
    )

    assert response.status_code == 400
    assert not is_suppressed("maria@example.org")


def test_a_malformed_brevo_body_is_acknowledged_and_recorded_as_refused(client):
    assert post(client, BREVO, b"\xff\xfe not utf-8").status_code == 200
    assert post(client, BREVO, "[1, 2]").status_code == 200
    assert RefusedWebhook.objects.count() == 2
