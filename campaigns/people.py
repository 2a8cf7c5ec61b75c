"""What campaigns does when the subscribers app says something about a person.

Receivers of ``subscribers/signals.py``, connected in ``CampaignsConfig.ready()``:
subscribers sits below campaigns and never imports it, so this is how a
person's leaving reaches the send ledger, an erasure reaches the delivery
events, an access request gets the emails the person received, and a staff
export lands in the audit log. Each runs inside the sender's transaction.
"""

from __future__ import annotations

import re
from typing import Any

from django.db.models import Model, Q, QuerySet

from campaigns.events.recording import record_unsubscribe
from campaigns.models import Delivery, DeliveryEvent, PersonEngagement, RolledUpProblem
from campaigns.staff import audit
from subscribers.models import Consent, Subscriber
from subscribers.services.privacy import iso

# Unsubscribes by the person's own hand, credited to the campaign that
# prompted them, so its report counts one-click and page unsubscribes, not
# only provider events. A staff or provider-side unsubscribe is not the
# campaign's doing (a provider's arrives as its own event).
CREDITED_CHANNELS = {
    Consent.Channel.ONE_CLICK,
    Consent.Channel.PAGE,
    Consent.Channel.MAILTO,
    Consent.Channel.PREFERENCES,
}


def skip_queued_deliveries(sender: Any, *, subscriber_id: int, **kwargs: Any) -> None:
    """Stop campaigns that are sending right now from mailing someone who left.

    The ledger rows were written when the campaign started; a queued row
    (or one held for an A/B test's winner) skipped here is never claimed by a worker.
    """
    Delivery.objects.filter(
        subscriber_id=subscriber_id, status__in=[Delivery.Status.QUEUED, Delivery.Status.HELD]
    ).update(status=Delivery.Status.SKIPPED)


def credit_unsubscribe(sender: Any, *, subscriber_id: int, channel: str, when: Any, **kwargs: Any) -> None:
    if channel in CREDITED_CHANNELS:
        record_unsubscribe(subscriber_id=subscriber_id, when=when)


def forget_event_payloads(
    sender: Any, *, subscriber: Subscriber, email: str = "", replacement_email: str = "", **kwargs: Any
) -> None:
    # Provider payloads carry the address in clear; the events themselves
    # stay, so the campaigns' reports still add up.
    DeliveryEvent.objects.filter(delivery__subscriber=subscriber).update(payload={})
    if not email:
        return
    # A bounce's reason often quotes the address ("550 <ana@…>: no such user"): the
    # problem list, live or rolled up, shows the placeholder instead.
    _scrub(DeliveryEvent.objects.filter(delivery__subscriber=subscriber), ["reason"], email, replacement_email)
    _scrub(Delivery.objects.filter(subscriber=subscriber), ["error"], email, replacement_email)
    _scrub(RolledUpProblem.objects.filter(subscriber=subscriber), ["event_reason", "error"], email, replacement_email)


def _scrub(rows: QuerySet[Any], fields: list[str], email: str, replacement: str) -> None:
    """Replace the address in ``fields`` of the few rows that quote it (any case)."""
    address = re.compile(re.escape(email), re.IGNORECASE)
    quoting = Q()
    for name in fields:
        quoting |= Q(**{f"{name}__icontains": email})
    changed: list[Model] = []
    for row in rows.filter(quoting).only("pk", *fields):
        for name in fields:
            setattr(row, name, address.sub(replacement, getattr(row, name)))
        changed.append(row)
    if changed:
        rows.model.objects.bulk_update(changed, fields)


def export_deliveries(sender: Any, *, subscriber: Subscriber, **kwargs: Any) -> dict[str, Any]:
    deliveries = (
        Delivery.objects.filter(subscriber=subscriber)
        .select_related("campaign")
        .prefetch_related("events")
        .order_by("pk")
    )
    return {
        "deliveries": [
            {
                "campaign": delivery.campaign_id,
                "subject": delivery.campaign.subject,
                "status": delivery.status,
                "sent_at": iso(delivery.sent_at),
                "events": [
                    {"kind": event.kind, "occurred_at": iso(event.occurred_at), "url": event.url}
                    for event in delivery.events.all()
                ],
            }
            for delivery in deliveries
        ],
        "earlier_campaigns_rolled_up": _rolled_up(subscriber),
    }


def _rolled_up(subscriber: Subscriber) -> dict[str, Any] | None:
    engagement = PersonEngagement.objects.filter(subscriber=subscriber).first()
    if engagement is None:
        return None
    return {
        "campaigns_received": engagement.campaigns_received,
        "last_received_at": iso(engagement.last_received_at),
        "last_opened_at": iso(engagement.last_opened_at),
        "last_clicked_at": iso(engagement.last_clicked_at),
        "problems": [
            {
                "campaign": problem.campaign_id,
                "status": problem.status,
                "event": problem.event_kind,
                "reason": problem.event_reason or problem.error,
                "occurred_at": iso(problem.occurred_at),
            }
            for problem in RolledUpProblem.objects.filter(subscriber=subscriber).order_by("pk")
        ],
    }


def log_staff_action(sender: Any, *, actor: Any, action: str, detail: str, **kwargs: Any) -> None:
    audit.record(actor=actor, action=action, detail=detail)


def connect() -> None:
    from subscribers import signals

    signals.person_left.connect(skip_queued_deliveries, dispatch_uid="campaigns.people.skip_queued")
    signals.unsubscribed.connect(credit_unsubscribe, dispatch_uid="campaigns.people.credit_unsubscribe")
    signals.person_erased.connect(forget_event_payloads, dispatch_uid="campaigns.people.forget_payloads")
    signals.personal_data_requested.connect(export_deliveries, dispatch_uid="campaigns.people.export")
    signals.staff_acted.connect(log_staff_action, dispatch_uid="campaigns.people.audit")
