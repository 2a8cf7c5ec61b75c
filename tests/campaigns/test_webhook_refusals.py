"""Authenticated webhooks never get a 500: odd fields are made storable, unusable events are
acknowledged and kept for staff, and SES's SNS subscription confirmation is answered."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.models import DeliveryEvent, RefusedWebhook
from subscribers.models import Suppression, email_hash
from tests.support.factories import make_delivery
from tests.support.http import HTTPReceiver
from tests.support.payloads import (
    MAILGUN_SIGNING_KEY,
    WEBHOOK_SECRET,
    auth_header,
    mailgun_failed,
    postmark_bounce,
    sns_headers,
)
from tests.support.personas import staff, verified

pytestmark = pytest.mark.django_db

POSTMARK = "/anymail/postmark/tracking/"
MAILGUN = "/anymail/mailgun/tracking/"
BREVO = "/anymail/brevo/tracking/"
SES = "/anymail/amazon_ses/tracking/"


@pytest.fixture(autouse=True)
def _webhook_settings(settings):  # type: ignore[no-untyped-def]
    settings.ANYMAIL = {"WEBHOOK_SECRET": WEBHOOK_SECRET, "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_SIGNING_KEY}


def post(client, url, body, *, auth=True, **extra):  # type: ignore[no-untyped-def]
    body = body if isinstance(body, (str, bytes)) else json.dumps(body)
    headers = auth_header() if auth else {}
    return client.post(url, data=body, content_type="application/json", **headers, **extra)


def bounce(**changes: Any) -> dict[str, Any]:
    return postmark_bounce(email="ana@example.org", message_id="m-1") | changes


def is_suppressed(email: str) -> bool:
    return Suppression.objects.filter(email_hash=email_hash(email)).exists()


# --- Fields made storable ------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        bounce(Details="smtp;550 \x00 no such user"),
        bounce(Details="smtp;550 \ud800 no such user"),
        bounce(Description={"nested": ["odd"]}),
        bounce(MessageID="m-1\x00"),
        bounce(Metadata={"delivery_id": "9" * 30}),
        bounce(Metadata={"delivery_id": 10**30, "key\x00": "v", "k\ud800": "v"}),
        bounce(ID=10**30),
        bounce(BouncedAt="9999-12-31T23:59:59Z"),
        bounce(BouncedAt="0001-01-01T00:00:00Z"),
        bounce(Tag=["a", "list"]),
    ],
    ids=[
        "nul-in-reason",
        "surrogate-in-reason",
        "reason-is-an-object",
        "nul-in-message-id",
        "delivery-id-beyond-bigint",
        "odd-metadata",
        "event-id-beyond-bigint",
        "year-9999",
        "year-1",
        "tag-is-a-list",
    ],
)
def test_a_bounce_with_odd_fields_is_still_stored_and_suppresses(client, payload):
    make_delivery("ana@example.org", esp_message_id="m-1")
    before = timezone.now()

    response = post(client, POSTMARK, payload)

    assert response.status_code == 200, response.content
    event = DeliveryEvent.objects.get()
    assert event.kind == DeliveryEvent.Kind.BOUNCED
    assert "\x00" not in event.reason + json.dumps(event.payload)
    assert datetime(2000, 1, 1, tzinfo=UTC) <= event.occurred_at <= timezone.now() + timedelta(days=1)
    if payload["BouncedAt"] != "2019-11-05T16:33:54.9070259Z":
        assert event.occurred_at >= before  # an implausible time gives way to the time of arrival
    assert is_suppressed("ana@example.org")
    assert not RefusedWebhook.objects.exists()


def test_not_a_number_in_the_payload_is_stored_as_null(client):
    make_delivery("ana@example.org", esp_message_id="m-1")
    body = json.dumps(bounce()).replace('"ServerID": 23', '"ServerID": NaN')

    assert post(client, POSTMARK, body).status_code == 200

    assert DeliveryEvent.objects.get().payload["raw"]["ServerID"] is None


@pytest.mark.parametrize(
    "recipient",
    ["ana@example.org\r\nBcc: all@example.net", "ana\x00@example.org", "an\ud800a@example.org", "a" * 300 + "@x.org"],
)
def test_a_recipient_that_cannot_be_an_address_is_never_suppressed_or_stored(client, recipient):
    delivery = make_delivery("ana@example.org", esp_message_id="m-1")

    response = post(client, POSTMARK, bounce(Email=recipient))

    assert response.status_code == 200
    # The bounce still counts for the message we sent, and so for its recipient.
    event = DeliveryEvent.objects.get()
    assert event.delivery == delivery
    assert event.recipient_hash == email_hash("ana@example.org")
    assert Suppression.objects.count() == 1 and is_suppressed("ana@example.org")


# --- Events that cannot be used: 2xx, recorded ------------------------------------------


@pytest.mark.parametrize(
    ("url", "body", "headers"),
    [
        (POSTMARK, "{not json", {}),
        (POSTMARK, "[" * 100_000 + "]" * 100_000, {}),
        (POSTMARK, json.dumps(bounce(BouncedAt="2019-13-45T99:99:99Z")), {}),
        (BREVO, b"\xff\xfe not utf-8", {}),
        (
            SES,
            json.dumps({"Type": "Notification", "MessageId": "1", "Message": "{broken"}),
            {"HTTP_X_AMZ_SNS_MESSAGE_TYPE": "Notification", "HTTP_X_AMZ_SNS_MESSAGE_ID": "1"},
        ),
        (SES, "{nope", {"HTTP_X_AMZ_SNS_MESSAGE_TYPE": "Notification", "HTTP_X_AMZ_SNS_MESSAGE_ID": "1"}),
    ],
    ids=["postmark-not-json", "postmark-nested", "postmark-impossible-date", "brevo-not-utf8", "ses", "sns"],
)
def test_an_authenticated_event_that_can_never_be_read_is_acknowledged_and_kept_for_staff(client, url, body, headers):
    response = post(client, url, body, **headers)
    replayed = post(client, url, body, **headers)

    # Every provider retries anything but a 2xx; this event would never get better.
    assert response.status_code == 200, response.content
    assert replayed.status_code == 200
    [refusal] = RefusedWebhook.objects.all()  # the replay adds no second row
    assert refusal.reason and refusal.provider
    assert not DeliveryEvent.objects.exists()


def test_a_mailgun_event_with_an_impossible_timestamp_is_not_a_500(client):
    payload = mailgun_failed(email="alice@example.com", message_id="m@mg")
    payload["event-data"]["timestamp"] = 1e20

    response = post(client, MAILGUN, payload)

    assert response.status_code == 200
    assert "Overflow" in RefusedWebhook.objects.get().reason or "out of range" in RefusedWebhook.objects.get().reason


def test_the_refusal_keeps_no_address_from_the_body(client):
    post(client, SES, "{ana@example.org", HTTP_X_AMZ_SNS_MESSAGE_TYPE="Notification", HTTP_X_AMZ_SNS_MESSAGE_ID="1")

    refusal = RefusedWebhook.objects.get()
    assert "ana@example.org" not in refusal.reason
    assert refusal.provider == "Amazon SES"


@pytest.mark.parametrize("url", [POSTMARK, BREVO, MAILGUN])
def test_a_broken_body_without_the_shared_secret_is_refused_and_not_recorded(client, url):
    response = post(client, url, "{not json", auth=False)

    assert response.status_code in {400, 401, 403}
    assert not RefusedWebhook.objects.exists()


# --- Amazon SNS subscription confirmation ---------------------------------------------


SNS_CONFIRMED = (
    '<ConfirmSubscriptionResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">'
    "<ConfirmSubscriptionResult><SubscriptionArn>"
    "arn:aws:sns:us-west-2:123456789012:ses-events:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55"
    "</SubscriptionArn></ConfirmSubscriptionResult>"
    "<ResponseMetadata><RequestId>7a50221f</RequestId></ResponseMetadata>"
    "</ConfirmSubscriptionResponse>"
)
SNS_REFUSED = (
    '<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">'
    "<Error><Type>Sender</Type><Code>AuthorizationError</Code>"
    "<Message>User is not authorized to perform: SNS:ConfirmSubscription</Message></Error>"
    "<RequestId>7a50221f</RequestId></ErrorResponse>"
)


class FakeSNS(HTTPReceiver):
    """Amazon SNS's query API on 127.0.0.1: answers ConfirmSubscription with ``status``."""

    def __init__(self, status: int = 200) -> None:
        body = SNS_CONFIRMED if status == 200 else SNS_REFUSED
        super().__init__(lambda request: (status, {"Content-Type": "text/xml"}, body.encode()))

    @property
    def calls(self) -> list[dict[str, list[str]]]:
        return [parse_qs(request.body.decode()) for request in self.requests]


@pytest.fixture(autouse=True)
def _no_ambient_aws_credentials(monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    for name in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance-metadata lookup from a test


def use_fake_sns(settings, fake: FakeSNS, **anymail: Any) -> None:  # type: ignore[no-untyped-def]
    settings.ANYMAIL = {
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "AMAZON_SES_SESSION_PARAMS": {"aws_access_key_id": "AKIDEXAMPLE", "aws_secret_access_key": "not-a-secret"},
        "AMAZON_SES_CLIENT_PARAMS": {"endpoint_url": fake.url},
        **anymail,
    }


@pytest.fixture
def sns(settings) -> Iterator[FakeSNS]:  # type: ignore[no-untyped-def]
    fake = FakeSNS()
    use_fake_sns(settings, fake)
    yield fake
    fake.close()


def subscription_confirmation(topic: str = "arn:aws:sns:us-west-2:123456789012:ses-events") -> dict[str, Any]:
    return {
        "Type": "SubscriptionConfirmation",
        "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "Token": "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3beb71854e285d6"
        "ad02428b09ce",
        "TopicArn": topic,
        "Message": f"You have chosen to subscribe to the topic {topic}.",
        "SubscribeURL": "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn="
        + topic
        + "&Token=2336412f37",
        "Timestamp": "2012-04-26T20:45:04.751Z",
        "SignatureVersion": "1",
        "Signature": "EXAMPLEpH+...",
        "SigningCertURL": "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem",
    }


def confirm(client, message: dict[str, Any], *, auth: bool = True):  # type: ignore[no-untyped-def]
    return post(client, SES, message, auth=auth, **sns_headers(message))


def test_a_subscription_confirmation_with_the_shared_secret_is_confirmed_through_the_sns_api(client, sns):
    message = subscription_confirmation()

    response = confirm(client, message)

    assert response.status_code == 200
    [call] = sns.calls
    assert call["Action"] == ["ConfirmSubscription"]
    assert call["TopicArn"] == [message["TopicArn"]] and call["Token"] == [message["Token"]]
    assert call["AuthenticateOnUnsubscribe"] == ["true"]
    assert not RefusedWebhook.objects.exists()


def test_without_aws_credentials_the_subscription_is_left_to_confirm_by_hand(client, caplog):
    response = confirm(client, subscription_confirmation())

    assert response.status_code == 200
    refusal = RefusedWebhook.objects.get()
    assert refusal.provider == "Amazon SES" and refusal.event_type == "SubscriptionConfirmation"
    assert "not confirmed" in refusal.reason and "credentials" in refusal.reason
    assert "Amazon SNS console" in refusal.reason
    assert any("not confirmed" in record.getMessage() for record in caplog.records)


def test_amazon_refusing_the_confirmation_is_recorded_not_a_500(client, settings):
    fake = FakeSNS(status=403)
    use_fake_sns(settings, fake)
    try:
        response = confirm(client, subscription_confirmation())
    finally:
        fake.close()

    assert response.status_code == 200
    assert len(fake.calls) >= 1
    assert "AuthorizationError" in RefusedWebhook.objects.get().reason


@pytest.mark.parametrize(
    "topic",
    ["arn:aws:sns:evil.example.net/x:123456789012:t", "arn:aws:sns:us-west-2:123456789012:t\x00", "not-an-arn"],
)
def test_a_topic_that_is_not_an_sns_topic_is_not_confirmed(client, sns, topic):
    response = confirm(client, subscription_confirmation(topic))

    assert response.status_code == 200
    assert sns.calls == []
    assert "TopicArn is not an SNS topic ARN" in RefusedWebhook.objects.get().reason


@pytest.mark.parametrize("off", [False, "false", "0"])  # ANYMAIL_* environment variables arrive as text
def test_with_automatic_confirmation_off_nothing_is_confirmed_and_staff_are_told(client, settings, off):
    fake = FakeSNS()
    use_fake_sns(settings, fake, AMAZON_SES_AUTO_CONFIRM_SNS_SUBSCRIPTIONS=off)
    try:
        response = confirm(client, subscription_confirmation())
    finally:
        fake.close()

    assert response.status_code == 200
    assert fake.calls == []
    assert "AMAZON_SES_AUTO_CONFIRM_SNS_SUBSCRIPTIONS is off" in RefusedWebhook.objects.get().reason


def test_a_subscription_confirmation_without_the_shared_secret_is_refused(client, sns):
    message = subscription_confirmation()

    missing = confirm(client, message, auth=False)
    wrong = post(client, SES, message, auth=False, HTTP_AUTHORIZATION="Basic aG9va3M6d3Jvbmc=", **sns_headers(message))

    assert missing.status_code == 401 and wrong.status_code == 400
    assert sns.calls == []
    assert not RefusedWebhook.objects.exists()


def test_staff_find_refused_events_in_the_admin_with_the_reason(client):
    post(client, POSTMARK, "{not json")
    user = staff("operator", None)
    user.is_superuser = True
    user.save()

    page = verified(client, user).get(reverse("admin:campaigns_refusedwebhook_changelist"))

    assert page.status_code == 200
    assert [row.provider for row in page.context["cl"].result_list] == ["Postmark"]
    assert "JSONDecodeError" in page.content.decode() or "Expecting" in page.content.decode()
    assert verified(client, user).get(reverse("admin:campaigns_refusedwebhook_add")).status_code == 403
