"""Payment providers that tell us about gifts through webhooks.

A provider turns one verified webhook request into zero or more gifts; the
view (``donations/webhooks.py``) records them. Adding PayPal or Mollie means
one module with a class like ``StripeProvider`` and one line in ``PROVIDERS``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Protocol

from django.http import HttpRequest


class WebhookRejected(Exception):
    """The request cannot be shown to come from the provider (answered 400)."""


class UnusableEvent(Exception):
    """A genuine (signed) event that can never be recorded: answered 200 so the
    provider stops retrying, and recorded with this reason for staff."""

    def __init__(self, reason: str, *, event_id: str = "", event_type: str = "") -> None:
        super().__init__(reason)
        self.event_id = event_id
        self.event_type = event_type


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
    # The event that brought it, for the record when the gift is refused.
    event_id: str = ""
    event_type: str = ""


# Until a shared rule for plausible dates lands: no gift reached Tocsin
# through a webhook before 2000, and a clock a day ahead of ours is wrong.
_EARLIEST_GIFT = datetime(2000, 1, 1, tzinfo=UTC)
_CLOCK_SLACK = timedelta(days=1)


def plausible_moment(epoch_seconds: object) -> datetime | None:
    """A provider's Unix timestamp as a datetime, or None when it is not a plausible one."""
    if isinstance(epoch_seconds, bool) or not isinstance(epoch_seconds, (int, float)):
        return None
    if not math.isfinite(epoch_seconds) or not 0 < epoch_seconds < _MAX_EPOCH:
        return None
    moment = datetime.fromtimestamp(epoch_seconds, tz=UTC)
    return moment if _EARLIEST_GIFT <= moment <= datetime.now(tz=UTC) + _CLOCK_SLACK else None


# Year 3000: beyond it fromtimestamp overflows on some platforms.
_MAX_EPOCH = 32_503_680_000


class PaymentProvider(Protocol):
    name: str

    def parse(self, request: HttpRequest) -> list[IncomingGift]:
        """Verify ``request`` and return its gifts ([] for events that carry none)."""
        ...


def get_provider(name: str) -> PaymentProvider | None:
    from donations.providers.stripe import StripeProvider

    providers: dict[str, PaymentProvider] = {"stripe": StripeProvider()}
    return providers.get(name)
