"""GDPR: erasure and the right of access.

Erasure drops the person and keeps what proves what happened (the consent
history, without its personal data) and what keeps them from being mailed
again (the suppression, keyed by a one-way hash of the address).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from subscribers.models import (
    Consent,
    Subscriber,
    Subscription,
    Suppression,
    email_hash,
)
from subscribers.services.leaving import is_suppressed
from subscribers.signals import person_erased, person_left, personal_data_requested


def erased_email(original: str) -> str:
    return f"erased-{email_hash(original)[:12]}@erased.invalid"


def erase(*, subscriber: Subscriber, actor: Any) -> Subscriber:
    """GDPR erasure: drop the person, keep the events and the suppression.

    The consent history stays (it proves what happened) but its personal data
    is replaced; the suppression, keyed by a one-way hash of the address,
    keeps the address from ever being mailed again by a re-import. Apps
    above drop the person from their own rows on ``person_erased``.
    """
    with transaction.atomic():
        locked = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        if locked.status == Subscriber.Status.ERASED:
            return locked
        digest = email_hash(locked.email)
        replacement = erased_email(locked.email)
        Suppression.objects.update_or_create(
            email_hash=digest, defaults={"reason": Suppression.Reason.ERASED, "detail": ""}
        )
        Consent.objects.filter(subscriber=locked).erase_personal_data(replacement_email=replacement)
        person_erased.send(sender=Subscriber, subscriber=locked, email=locked.email, replacement_email=replacement)
        person_left.send(sender=Subscriber, subscriber_id=locked.pk)
        locked.subscriptions.update(status=Subscription.Status.UNSUBSCRIBED, updated_at=timezone.now())
        now = timezone.now()
        locked.email = replacement
        locked.name = ""
        locked.status = Subscriber.Status.ERASED
        locked.unsubscribed_at = locked.unsubscribed_at or now
        locked.save()
        Consent.objects.create(
            subscriber=locked,
            email=replacement,
            action=Consent.Action.ERASE,
            source=Consent.Source.STAFF,
            channel=Consent.Channel.STAFF,
            requested_at=now,
            confirmed_at=now,
            actor=actor,
        )
    subscriber.refresh_from_db()
    return subscriber


def iso(value: Any) -> Any:
    """A date or time as ISO 8601 text, anything else as it is: the export's JSON."""
    return value.isoformat() if hasattr(value, "isoformat") else value


def export_personal_data(subscriber: Subscriber) -> dict[str, Any]:
    """Everything we hold about one person (GDPR right of access), JSON-ready.

    Apps above add their own sections (campaigns the emails received,
    donations the gifts, actions the signatures) on ``personal_data_requested``.
    """
    profile = {
        "id": subscriber.pk,
        "email": subscriber.email,
        "name": subscriber.name,
        "language": subscriber.language,
        "status": subscriber.status,
        "tracking_allowed": subscriber.tracking_allowed,
        "paused_until": iso(subscriber.paused_until),
        "created_at": iso(subscriber.created_at),
        "confirmed_at": iso(subscriber.confirmed_at),
        "unsubscribed_at": iso(subscriber.unsubscribed_at),
        "suppressed": is_suppressed(subscriber.email),
    }
    subscriptions = [
        {
            "list": sub.mailing_list.slug,
            "list_name": sub.mailing_list.name,
            "status": sub.status,
            "created_at": iso(sub.created_at),
            "updated_at": iso(sub.updated_at),
        }
        for sub in subscriber.subscriptions.select_related("mailing_list").order_by("created_at", "pk")
    ]
    consents = [
        {field: iso(getattr(consent, field)) for field in (*Consent.EVIDENCE_FIELDS, "created_at")}
        for consent in subscriber.consents.all()
    ]
    export: dict[str, Any] = {
        "profile": profile,
        "subscriptions": subscriptions,
        "consents": consents,
    }
    for _receiver, sections in personal_data_requested.send(sender=Subscriber, subscriber=subscriber):
        if isinstance(sections, dict):
            export.update(sections)
    return export
