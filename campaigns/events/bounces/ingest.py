"""A returned message -> a delivery event, through the same path as every provider's webhook.

``ingest`` hands ``campaigns.events.recording.record_provider_event`` an Anymail
tracking event, as a webhook would: the event is stored once (a bounce read
twice from a mailbox changes nothing), hard bounces and complaints suppress the
address, soft bounces count towards ``TOCSIN_SOFT_BOUNCE_LIMIT``, and reports
and the person's history show it like any provider's event. The delivery comes
from the VERP token alone; a message without a valid one changes nothing. A
token of another kind (a letter to a target) goes to the handler its app
registered (``returns``), never through the subscribers' suppression.
"""

from __future__ import annotations

import hashlib
from email.utils import parsedate_to_datetime

from anymail.signals import AnymailTrackingEvent, EventType
from django.utils import timezone

from campaigns.events.bounces import returns, verp
from campaigns.events.bounces.reading import Report, parse
from campaigns.events.bounces.returns import Outcome
from campaigns.events.recording import record_provider_event
from campaigns.models import Delivery

ESP_NAME = "smtp"
_EVENT_TYPES = {
    "complaint": EventType.COMPLAINED,
    "hard": EventType.BOUNCED,
    "soft": EventType.BOUNCED,  # told apart by recording._is_soft_bounce through esp_event["bounce"]
    "delayed": EventType.DEFERRED,
}


__all__ = ["Outcome", "ingest"]


def ingest(raw: bytes) -> Outcome:
    report = parse(raw)
    if not report.returned:
        return Outcome("ignored", "no validly signed bounce address (VERP token) in the message")
    kind, row_id = report.returned[0]  # the envelope's own address first (Delivered-To…)
    if kind != verp.CAMPAIGN:
        return _hand_over(kind, row_id, report, raw)
    if report.verdict is None:
        why = "; ".join(report.problems) or "not a bounce or complaint (an auto-reply?)"
        return Outcome("ignored", why, report.delivery_ids[0])
    delivery = Delivery.objects.select_related("subscriber").filter(pk__in=report.delivery_ids).order_by("pk").first()
    if delivery is None:
        return Outcome("ignored", "its delivery no longer exists", report.delivery_ids[0])
    stored = record_provider_event(event=_event(report, delivery, raw), esp_name=ESP_NAME)
    if stored is None:
        return Outcome("duplicate", "this message was already recorded", delivery.pk)
    return Outcome("recorded", f"{report.verdict} ({report.shape}) {report.reason}".strip(), delivery.pk)


def _hand_over(kind: str, row_id: int, report: Report, raw: bytes) -> Outcome:
    """A bounce of another app's mail (a letter to a target…): its registered handler records it."""
    handler = returns.handler_for(kind)
    if handler is None:
        return Outcome("ignored", f"no handler for bounces of kind {kind!r}", row_id, kind)
    if report.verdict is None:
        why = "; ".join(report.problems) or "not a bounce or complaint (an auto-reply?)"
        return Outcome("ignored", why, row_id, kind)
    return handler(row_id, report, raw)


def _event(report: Report, delivery: Delivery, raw: bytes) -> AnymailTrackingEvent:
    # The bounce's own Message-ID makes a second reading of it a replay; without one, its bytes do.
    event_id = report.message_id[:200] or "sha256:" + hashlib.sha256(raw).hexdigest()
    return AnymailTrackingEvent(
        event_type=_EVENT_TYPES[report.verdict or "hard"],
        timestamp=_timestamp(report.date),
        event_id=f"{event_id}:{delivery.pk}",
        message_id=delivery.esp_message_id or None,
        recipient=delivery.subscriber.email,
        metadata={"delivery_id": delivery.pk},
        description=f"{report.verdict} bounce" if report.verdict in ("hard", "soft") else None,
        mta_response=report.reason or None,
        esp_event={
            "source": "smtp",
            "bounce": report.verdict,
            "shape": report.shape,
            "status": report.status,
        },
    )


def _timestamp(date: str):  # type: ignore[no-untyped-def]
    try:
        moment = parsedate_to_datetime(date) if date else None
    except (TypeError, ValueError, IndexError):
        moment = None
    return moment or timezone.now()
