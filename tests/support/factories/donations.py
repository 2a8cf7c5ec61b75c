"""Gifts, appeals and signed Stripe payloads for the donation tests."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.utils import timezone

from campaigns.models import Campaign
from donations.models import Donation
from subscribers.models import Subscriber

STRIPE_SECRET = "whsec_test_secret_for_tocsin"


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
    return Donation.objects.create(
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
