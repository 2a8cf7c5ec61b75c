"""A person's gifts in the GDPR access export and erasure, through subscribers' signals.

Connected in ``DonationsConfig.ready()``: the subscribers app below never
imports donations. Gifts are matched by link or by address, since an
imported gift may name a donor who never became a subscriber row.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from donations.models import Donation
from subscribers.models import Subscriber
from subscribers.services.privacy import iso


def gifts_of(subscriber: Subscriber, email: str) -> QuerySet[Donation]:
    return Donation.objects.filter(Q(subscriber=subscriber) | Q(donor_email=email))


def forget_donor(sender: Any, *, subscriber: Subscriber, email: str, replacement_email: str, **kwargs: Any) -> None:
    # The gift stays (amounts, dates and attribution must still add up); the donor goes.
    gifts_of(subscriber, email).update(donor_email=replacement_email, donor_name="")


def export_gifts(sender: Any, *, subscriber: Subscriber, **kwargs: Any) -> dict[str, Any]:
    return {
        "donations": [
            {
                "amount": str(gift.amount),
                "currency": gift.currency,
                "donated_at": iso(gift.donated_at),
                "donor_email": gift.donor_email,
                "donor_name": gift.donor_name,
                "recurring": gift.recurring,
                "campaign": gift.campaign_id,
                "reference": gift.reference,
            }
            for gift in gifts_of(subscriber, subscriber.email).order_by("donated_at", "pk")
        ]
    }


def connect() -> None:
    from subscribers.signals import person_erased, personal_data_requested

    person_erased.connect(forget_donor, dispatch_uid="donations.people.forget_donor")
    personal_data_requested.connect(export_gifts, dispatch_uid="donations.people.export")
