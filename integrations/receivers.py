"""Receivers of the lower apps' signals: each writes its event's deliveries (``recording.record``).

Every signal here is sent inside the transaction of the change, so the
deliveries commit with it or not at all. Each receiver first asks whether
any endpoint wants the event: with none, an event costs one small query.
"""

from __future__ import annotations

from typing import Any

from django.dispatch import Signal

from integrations import payloads, people, recording
from subscribers.models import Subscriber, Suppression

_SUPPRESSION_EVENTS = {
    Suppression.Reason.BOUNCED: "subscriber.bounced",
    Suppression.Reason.REJECTED: "subscriber.bounced",
    Suppression.Reason.COMPLAINED: "subscriber.complained",
    Suppression.Reason.UNSUBSCRIBED: "subscriber.unsubscribed",
    Suppression.Reason.STAFF: "subscriber.unsubscribed",
}


def _record(event_type: str, build: Any, *, about: int | None) -> None:
    endpoints = recording.subscribed(event_type)
    if endpoints:
        recording.record(event_type, build(), endpoints=endpoints, subscriber_id=about)


def person_confirmed(sender: Any, subscriber: Subscriber, **kwargs: Any) -> None:
    _record("subscriber.confirmed", lambda: payloads.subscriber(subscriber), about=subscriber.pk)


def person_updated(sender: Any, subscriber: Subscriber, changes: list[str], **kwargs: Any) -> None:
    _record("subscriber.updated", lambda: payloads.subscriber(subscriber, changes=list(changes)), about=subscriber.pk)


def person_suppressed(sender: Any, subscriber: Subscriber, reason: str, **kwargs: Any) -> None:
    event_type = _SUPPRESSION_EVENTS.get(Suppression.Reason(reason))
    if event_type:
        _record(event_type, lambda: payloads.subscriber(subscriber, reason=str(reason)), about=subscriber.pk)


def unsubscribed(sender: Any, subscriber_id: int, channel: str, **kwargs: Any) -> None:
    def build() -> dict[str, Any]:
        return payloads.subscriber(Subscriber.objects.get(pk=subscriber_id), reason="unsubscribed", channel=channel)

    _record("subscriber.unsubscribed", build, about=subscriber_id)


def person_erased(sender: Any, subscriber: Subscriber, email: str, **kwargs: Any) -> None:
    """Send the id only, and strip the person from every delivery still kept here."""
    people.forget(subscriber_id=subscriber.pk, email=email)
    _record("subscriber.erased", lambda: {"id": subscriber.pk}, about=subscriber.pk)


def donation_received(sender: Any, donation: Any, **kwargs: Any) -> None:
    _record("donation.received", lambda: payloads.donation(donation), about=donation.subscriber_id)


def action_signed(sender: Any, signature: Any, **kwargs: Any) -> None:
    _record("action.signed", lambda: payloads.signature(signature), about=signature.subscriber_id)


def campaign_sent(sender: Any, campaign: Any, **kwargs: Any) -> None:
    _record("campaign.sent", lambda: payloads.campaign(campaign), about=None)


def connect() -> None:
    """Called from ``IntegrationsConfig.ready()``."""
    from actions.signals import action_signed as signed
    from actions.signals import signatures_erased
    from campaigns.signals import campaign_sent as sent
    from donations.signals import donation_received as received
    from subscribers import signals

    wiring: list[tuple[Signal, Any]] = [
        (signals.person_confirmed, person_confirmed),
        (signals.person_updated, person_updated),
        (signals.person_suppressed, person_suppressed),
        (signals.unsubscribed, unsubscribed),
        (signals.person_erased, person_erased),
        (signals.personal_data_requested, people.export_deliveries),
        (received, donation_received),
        (signed, action_signed),
        (signatures_erased, people.forget_signer),
        (sent, campaign_sent),
    ]
    for signal, receiver in wiring:
        signal.connect(receiver, dispatch_uid=f"integrations.{receiver.__name__}")
