"""Provider payloads for the webhook tests, as the providers post them.

The payloads are the providers' documented examples (Postmark, Amazon SES
through SNS, Mailgun, Brevo, Stripe), with our delivery's message id and metadata
filled in where Anymail would have put them at send time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import datetime
from typing import Any

from django.utils import timezone

WEBHOOK_SECRET = "hooks:s3cret-webhook-pass"
MAILGUN_SIGNING_KEY = "key-mailgun-signing-0123456789"


def auth_header(secret: str = WEBHOOK_SECRET) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(secret.encode()).decode()}


# --- Postmark (https://postmarkapp.com/developer/webhooks/...) -------------------


def postmark_bounce(
    *, email: str, message_id: str, bounce_type: str = "HardBounce", bounce_id: int = 4323372036854775807
) -> dict[str, Any]:
    return {
        "RecordType": "Bounce",
        "MessageStream": "outbound",
        "ID": bounce_id,
        "Type": bounce_type,
        "TypeCode": 1 if bounce_type == "HardBounce" else 4096,
        "Name": "Hard bounce" if bounce_type == "HardBounce" else "Soft bounce",
        "Tag": "Test",
        "MessageID": message_id,
        "Metadata": {"a_key": "a_value", "b_key": "b_value"},
        "ServerID": 23,
        "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
        "Details": f"smtp;550 5.1.1 The email account <{email}> does not exist.",
        "Email": email,
        "From": "sender@example.com",
        "BouncedAt": "2019-11-05T16:33:54.9070259Z",
        "DumpAvailable": True,
        "Inactive": True,
        "CanActivate": True,
        "Subject": "Test subject",
        "Content": "<Full dump of bounce>",
    }


def postmark_delivery(*, email: str, message_id: str, metadata: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "MessageID": message_id,
        "Recipient": email,
        "DeliveredAt": "2019-11-05T16:33:54.9070259Z",
        "Details": "Test delivery webhook details",
        "Tag": "welcome-email",
        "ServerID": 23,
        "Metadata": metadata or {"a_key": "a_value", "b_key": "b_value"},
        "RecordType": "Delivery",
        "MessageStream": "outbound",
    }


def postmark_spam_complaint(*, email: str, message_id: str) -> dict[str, Any]:
    return {
        "RecordType": "SpamComplaint",
        "MessageStream": "outbound",
        "ID": 42,
        "Type": "SpamComplaint",
        "TypeCode": 100001,
        "Name": "Spam complaint",
        "Tag": "Test",
        "MessageID": message_id,
        "Metadata": {"a_key": "a_value", "b_key": "b_value"},
        "ServerID": 1234,
        "Description": "",
        "Details": "Test spam complaint details",
        "Email": email,
        "From": "sender@example.com",
        "BouncedAt": "2019-11-05T16:33:54.9070259Z",
        "DumpAvailable": True,
        "Inactive": True,
        "CanActivate": False,
        "Subject": "Test subject",
        "Content": "<Abuse report dump>",
    }


# --- Amazon SES event publishing through an SNS HTTPS subscription ------------------


def ses_sns_notification(
    ses_event: dict[str, Any], *, sns_message_id: str = "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324"
) -> dict[str, Any]:
    return {
        "Type": "Notification",
        "MessageId": sns_message_id,
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:ses-events",
        "Message": json.dumps(ses_event),
        "Timestamp": "2017-08-05T00:41:03.000Z",
        "SignatureVersion": "1",
        "Signature": "EXAMPLEw6JRN...",
        "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem",
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-east-1:123456789012:ses-events:0",
    }


def _ses_mail(*, email: str, message_id: str) -> dict[str, Any]:
    return {
        "timestamp": "2017-08-05T00:40:02.012Z",
        "source": "Sender Name <sender@example.com>",
        "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/sender@example.com",
        "sendingAccountId": "123456789012",
        "messageId": message_id,
        "destination": [email],
        "headersTruncated": False,
        "headers": [
            {"name": "From", "value": "Sender Name <sender@example.com>"},
            {"name": "To", "value": email},
            {"name": "Subject", "value": "Message sent from Amazon SES"},
            {"name": "MIME-Version", "value": "1.0"},
        ],
        "commonHeaders": {
            "from": ["Sender Name <sender@example.com>"],
            "to": [email],
            "messageId": message_id,
            "subject": "Message sent from Amazon SES",
        },
        "tags": {"ses:configuration-set": ["ConfigSet"], "ses:source-ip": ["192.0.2.0"]},
    }


def ses_bounce(*, email: str, message_id: str, bounce_type: str = "Permanent") -> dict[str, Any]:
    return {
        "eventType": "Bounce",
        "bounce": {
            "bounceType": bounce_type,
            "bounceSubType": "General",
            "bouncedRecipients": [
                {
                    "emailAddress": email,
                    "action": "failed",
                    "status": "5.1.1",
                    "diagnosticCode": f"smtp; 550 5.1.1 <{email}>... User unknown",
                }
            ],
            "timestamp": "2017-08-05T00:41:02.669Z",
            "feedbackId": "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000",
            "reportingMTA": "dsn; mta.example.com",
        },
        "mail": _ses_mail(email=email, message_id=message_id),
    }


def ses_complaint(*, email: str, message_id: str) -> dict[str, Any]:
    return {
        "eventType": "Complaint",
        "complaint": {
            "complainedRecipients": [{"emailAddress": email}],
            "timestamp": "2017-08-05T00:41:02.669Z",
            "feedbackId": "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000",
            "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
            "complaintFeedbackType": "abuse",
            "arrivalDate": "2017-08-05T00:41:02.669Z",
        },
        "mail": _ses_mail(email=email, message_id=message_id),
    }


def sns_headers(notification: dict[str, Any]) -> dict[str, str]:
    return {
        "HTTP_X_AMZ_SNS_MESSAGE_TYPE": notification["Type"],
        "HTTP_X_AMZ_SNS_MESSAGE_ID": notification["MessageId"],
        "HTTP_X_AMZ_SNS_TOPIC_ARN": notification["TopicArn"],
    }


# --- Mailgun (webhooks v3, JSON with a signature block) ------------------------------


def mailgun_signature(*, key: str = MAILGUN_SIGNING_KEY, timestamp: str = "1529006854", token: str) -> dict[str, str]:
    digest = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {"timestamp": timestamp, "token": token, "signature": digest}


def mailgun_failed(
    *,
    email: str,
    message_id: str,
    severity: str = "permanent",
    token: str = "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0",  # noqa: S107 - Mailgun's documented sample
    key: str = MAILGUN_SIGNING_KEY,
    user_variables: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "signature": mailgun_signature(key=key, token=token),
        "event-data": {
            "event": "failed",
            "id": "G9Bn5sl1TC6nu79C8C0bwg",
            "timestamp": 1521233195.375624,
            "log-level": "error" if severity == "permanent" else "warn",
            "severity": severity,
            "reason": "bounce" if severity == "permanent" else "generic",
            "envelope": {"sender": "bob@mg.example.org", "transport": "smtp", "targets": email},
            "flags": {"is-routed": False, "is-authenticated": True, "is-system-test": False, "is-test-mode": False},
            "delivery-status": {
                "attempt-no": 1,
                "message": f"550 5.1.1 The email account that you tried to reach does not exist: {email}",
                "code": 550,
                "description": "",
                "session-seconds": 0.1,
            },
            "message": {
                "headers": {
                    "to": f"Alice <{email}>",
                    "message-id": message_id,
                    "from": "Bob <bob@mg.example.org>",
                    "subject": "Test permanent_fail webhook",
                },
                "attachments": [],
                "size": 111,
            },
            "recipient": email,
            "recipient-domain": email.split("@")[1],
            "storage": {
                "url": "https://se.api.mailgun.net/v3/domains/mg.example.org/messages/message_key",
                "key": "message_key",
            },
            "campaigns": [],
            "tags": ["bulletin"],
            "user-variables": user_variables or {},
        },
    }


# --- Brevo (transactional webhooks) ---------------------------------------------------


def brevo_event(*, event: str, email: str, message_id: str, metadata: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "event": event,
        "email": email,
        "id": 1234,
        "date": "2020-10-09 00:00:00",
        "ts": 1604933619,
        "message-id": message_id,
        "ts_event": 1604933654,
        "subject": "My first Transactional",
        "X-Mailin-custom": json.dumps(metadata or {}),
        "sending_ip": "185.41.28.109",
        "template_id": 22,
        "tags": ["transac_messages"],
        "reason": "server is down" if event != "hard_bounce" else f"550 <{email}>: Recipient address rejected",
        # The documented sample is from 2020; "now" keeps it inside the soft-bounce window.
        "ts_epoch": int(time.time() * 1000),
    }


# --- Stripe (Checkout and its signed webhooks) ---------------------------------------

STRIPE_SECRET = "whsec_test_secret_for_tocsin"


def stripe_headers(payload: str, *, secret: str = STRIPE_SECRET, timestamp: int | None = None) -> dict[str, str]:
    """The Stripe-Signature header Stripe would send: HMAC-SHA256 of "t.payload"."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return {"HTTP_STRIPE_SIGNATURE": f"t={timestamp},v1={signature}"}


def stripe_event(kind: str, obj: dict[str, Any], *, event_id: str = "evt_1", created: datetime | None = None) -> str:
    created_at = int((created or timezone.now()).timestamp())
    return json.dumps({"id": event_id, "object": "event", "type": kind, "created": created_at, "data": {"object": obj}})


def checkout_session(**overrides: Any) -> dict[str, Any]:
    session = {
        "id": "cs_test_1",
        "object": "checkout.session",
        "mode": "payment",
        "payment_status": "paid",
        "payment_intent": "pi_test_1",
        "amount_total": 2550,
        "currency": "usd",
        "customer_details": {"email": "Ana@Example.org", "name": "Ana Quispe"},
        "metadata": {},
    }
    session.update(overrides)
    return session
