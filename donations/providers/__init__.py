"""Payment providers that tell us about gifts through webhooks.

A provider turns one verified webhook request into zero or more gifts; the
view (``donations/webhooks.py``) records them. Adding PayPal or Mollie means
one module with a class like ``StripeProvider`` and one line in ``PROVIDERS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from django.http import HttpRequest


class WebhookRejected(Exception):
    """The request is not a genuine, readable event from the provider (answered 400)."""


@dataclass(frozen=True)
class IncomingGift:
    reference: str
    amount: Decimal
    currency: str
    donated_at: datetime
    email: str = ""
    name: str = ""
    recurring: bool = False
    attribution_code: str = ""


class PaymentProvider(Protocol):
    name: str

    def parse(self, request: HttpRequest) -> list[IncomingGift]:
        """Verify ``request`` and return its gifts ([] for events that carry none)."""
        ...


def get_provider(name: str) -> PaymentProvider | None:
    from donations.providers.stripe import StripeProvider

    providers: dict[str, PaymentProvider] = {"stripe": StripeProvider()}
    return providers.get(name)
