"""What each event's ``data`` holds: ids first, the address where there is one.

Personal fields are the ones ``PERSONAL`` names: an erasure removes them
from every delivery this server still keeps (``people.forget``).
"""

from __future__ import annotations

from typing import Any

from actions.models import Signature
from campaigns.lifecycle import campaign_counts
from campaigns.models import Campaign
from donations.models import Donation
from subscribers.models import Subscriber, Subscription

PERSONAL = ("email", "name", "postal_code")


def subscriber(person: Subscriber, **extra: Any) -> dict[str, Any]:
    lists = sorted(
        person.subscriptions.filter(status=Subscription.Status.ACTIVE).values_list("mailing_list__slug", flat=True)
    )
    return {
        "id": person.pk,
        "email": person.email,
        "name": person.name,
        "language": person.language,
        "status": person.status,
        "lists": lists,
        **extra,
    }


def donation(gift: Donation) -> dict[str, Any]:
    return {
        "id": gift.pk,
        "email": gift.donor_email,
        "name": gift.donor_name,
        "amount": str(gift.amount),
        "currency": gift.currency,
        "donated_at": gift.donated_at.isoformat(),
        "recurring": gift.recurring,
        "source": gift.source,
        "provider": gift.provider,
        "reference": gift.reference,
        "campaign": gift.campaign_id,
        "subscriber": gift.subscriber_id,
    }


def signature(signed: Signature) -> dict[str, Any]:
    action = signed.action
    return {
        "id": signed.pk,
        "email": signed.email,
        "name": signed.name,
        "postal_code": signed.postal_code,
        "language": signed.language,
        "source": signed.source,
        "signed_at": signed.created_at.isoformat(),
        "action": {"id": action.pk, "slug": action.slug, "kind": action.kind, "title": action.title},
        "subscriber": signed.subscriber_id,
    }


def campaign(sent: Campaign) -> dict[str, Any]:
    return {
        "id": sent.pk,
        "kind": sent.kind,
        "subject": sent.subject,
        "language": sent.language,
        "finished_at": sent.finished_at.isoformat() if sent.finished_at else None,
        "counts": campaign_counts(sent),
    }


def forget_person(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key not in PERSONAL}
