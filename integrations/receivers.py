"""Receivers of the lower apps' signals: each writes its event's deliveries (``recording.record``).

Every signal here is sent inside the transaction of the change, so the
deliveries commit with it or not at all. Each receiver first asks whether
any endpoint wants the event: with none, an event costs one small query.
"""

from __future__ import annotations

import json
from typing import Any

from django.db.models import Q
from django.dispatch import Signal

from integrations import payloads, recording
from integrations.models import WebhookDelivery
from subscribers.models import Subscriber, Suppression

_SUPPRESSION_EVENTS = {
    Suppression.Reason.BOUNCED: "subscriber.bounced",
    Suppression.Reason.REJECTED: "subscriber.bounced",
    Suppression.Reason.COMPLAINED: "subscriber.complained",
    Suppression.Reason.UNSUBSCRIBED: "subscriber.unsubscribed",
    Suppression.Reason.STAFF: "subscriber.unsubscribed",
}


def _record(event_type: str, build: Any) -> None:
    endpoints = recording.subscribed(event_type)
    if endpoints:
        recording.record(event_type, build(), endpoints=endpoints)


def person_confirmed(sender: Any, subscriber: Subscriber, **kwargs: Any) -> None:
    _record("subscriber.confirmed", lambda: payloads.subscriber(subscriber))


def person_updated(sender: Any, subscriber: Subscriber, changes: list[str], **kwargs: Any) -> None:
    _record("subscriber.updated", lambda: payloads.subscriber(subscriber, changes=list(changes)))


def person_suppressed(sender: Any, subscriber: Subscriber, reason: str, **kwargs: Any) -> None:
    event_type = _SUPPRESSION_EVENTS.get(Suppression.Reason(reason))
    if event_type:
        _record(event_type, lambda: payloads.subscriber(subscriber, reason=str(reason)))


def unsubscribed(sender: Any, subscriber_id: int, channel: str, **kwargs: Any) -> None:
    def build() -> dict[str, Any]:
        return payloads.subscriber(Subscriber.objects.get(pk=subscriber_id), reason="unsubscribed", channel=channel)

    _record("subscriber.unsubscribed", build)


def person_erased(sender: Any, subscriber: Subscriber, email: str, **kwargs: Any) -> None:
    """Send the id only, and strip the address from every delivery still kept here."""
    forget(email)
    _record("subscriber.erased", lambda: {"id": subscriber.pk})


def forget(email: str) -> int:
    """Remove a person's address and name from the deliveries this server keeps (sent or waiting)."""
    if not email:
        return 0
    quoted = json.dumps(email, ensure_ascii=False)
    changed = 0
    for delivery in WebhookDelivery.objects.filter(Q(body__icontains=quoted)).only("pk", "body"):
        message = json.loads(delivery.body)
        if isinstance(message.get("data"), dict):
            message["data"] = payloads.forget_person(message["data"])
        text = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
        if email.lower() in text.lower():  # anywhere else in the body: keep only the event and the id
            text = recording.body(message["type"], {"id": message.get("data", {}).get("id")})
        changed += WebhookDelivery.objects.filter(pk=delivery.pk).update(body=text)
    return changed


def donation_received(sender: Any, donation: Any, **kwargs: Any) -> None:
    _record("donation.received", lambda: payloads.donation(donation))


def action_signed(sender: Any, signature: Any, **kwargs: Any) -> None:
    _record("action.signed", lambda: payloads.signature(signature))


def campaign_sent(sender: Any, campaign: Any, **kwargs: Any) -> None:
    _record("campaign.sent", lambda: payloads.campaign(campaign))


def connect() -> None:
    """Called from ``IntegrationsConfig.ready()``."""
    from actions.signals import action_signed as signed
    from campaigns.signals import campaign_sent as sent
    from donations.signals import donation_received as received
    from subscribers import signals

    wiring: list[tuple[Signal, Any]] = [
        (signals.person_confirmed, person_confirmed),
        (signals.person_updated, person_updated),
        (signals.person_suppressed, person_suppressed),
        (signals.unsubscribed, unsubscribed),
        (signals.person_erased, person_erased),
        (received, donation_received),
        (signed, action_signed),
        (sent, campaign_sent),
    ]
    for signal, receiver in wiring:
        signal.connect(receiver, dispatch_uid=f"integrations.{receiver.__name__}")
