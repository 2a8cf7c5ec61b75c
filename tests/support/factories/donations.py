"""Gifts, appeals, and the gift files the import tests read.

``DonationFactory`` makes one gift (a sequence keeps references unique);
``gift(email, amount)`` is the shape most tests want: linked to the
subscriber with that address, ``days_ago`` days ago. The signed Stripe
payloads are in tests/support/payloads.py.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import factory
from django.core.management import call_command
from django.utils import timezone
from factory.django import DjangoModelFactory

from campaigns.models import Campaign
from donations.models import Donation
from subscribers.models import Subscriber


class DonationFactory(DjangoModelFactory[Donation]):
    class Meta:
        model = Donation

    donor_email = "ana@example.org"
    amount = Decimal("10.00")
    currency = "USD"
    donated_at = factory.LazyFunction(timezone.now)
    reference = factory.Sequence(lambda n: f"ref-{n}")


def gift(
    email: str,
    amount: str = "10.00",
    *,
    currency: str = "USD",
    days_ago: int = 1,
    reference: str | None = None,
    subscriber: Subscriber | None = None,
    campaign: Campaign | None = None,
    recurring: bool = False,
    **fields: Any,
) -> Donation:
    return DonationFactory(
        donor_email=email,
        amount=Decimal(amount),
        currency=currency,
        donated_at=timezone.now() - timedelta(days=days_ago),
        reference=reference or f"ref-{Donation.objects.count()}-{email}-{amount}",
        subscriber=subscriber if subscriber is not None else Subscriber.objects.filter(email=email).first(),
        campaign=campaign,
        recurring=recurring,
        **fields,
    )


def started_appeal(campaign: Campaign, *, days_ago: int = 2) -> Campaign:
    campaign.kind = Campaign.Kind.APPEAL
    campaign.status = Campaign.Status.SENDING
    campaign.started_at = timezone.now() - timedelta(days=days_ago)
    campaign.save()
    return campaign


def write_csv(tmp_path: Path, text: str, name: str = "gifts.csv") -> Path:
    path = tmp_path / name
    path.write_text(text.lstrip(), encoding="utf-8")
    return path


# A file with a provider's reference on each gift, and one kept by hand without.
GOOD = """
email,amount,currency,date,reference,recurring,name
Ana@Example.org,25.50,usd,2026-01-10,ch_1,false,Ana Quispe
rosa@example.org,1000,PEN,2026-01-11,ch_2,true,Rosa
"""
NO_REFERENCE = """
email,amount,currency,date,name
ana@example.org,25.50,USD,2026-01-10,Ana Quispe
rosa@example.org,1000,PEN,2026-01-11,Rosa
"""


def run_import(path, *args):  # type: ignore[no-untyped-def]
    """manage.py import_donations PATH ARGS…"""
    return call_command("import_donations", str(path), *args)
