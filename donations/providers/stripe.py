"""Stripe: ``checkout.session.completed`` (one-off gifts) and ``invoice.paid`` (recurring).

Traps this handles:
- A subscription checkout fires ``checkout.session.completed`` *and*
  ``invoice.paid`` for the same first payment: only the invoice is counted.
- A one-off checkout with an invoice also fires both; they share the
  PaymentIntent id, which is the gift's reference, so the second is a duplicate.
- Bank debits finish later: a session with ``payment_status`` "unpaid" is not
  a gift yet; ``checkout.session.async_payment_succeeded`` brings it.
- Stripe amounts are in minor units (cents; yen have none).

The appeal's code travels as ``metadata.tocsin_ref`` (on the session, or on
the subscription, where Stripe copies it into each invoice).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import stripe
from django.conf import settings
from django.http import HttpRequest

from donations.currencies import from_minor_units
from donations.providers import IncomingGift, WebhookRejected

_SESSION_EVENTS = {"checkout.session.completed", "checkout.session.async_payment_succeeded"}


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _when(timestamp: Any) -> datetime:
    if isinstance(timestamp, int) and timestamp > 0:
        return datetime.fromtimestamp(timestamp, tz=UTC)
    return datetime.now(tz=UTC)


def _amount(value: Any, currency: str) -> Decimal:
    if not isinstance(value, int) or isinstance(value, bool):
        raise WebhookRejected("amount is not an integer number of minor units")
    return from_minor_units(value, currency)


class StripeProvider:
    name = "stripe"

    def parse(self, request: HttpRequest) -> list[IncomingGift]:
        secret = settings.STRIPE_WEBHOOK_SECRET
        if not secret:
            raise WebhookRejected("STRIPE_WEBHOOK_SECRET is not set: Stripe events cannot be verified")
        try:
            payload = request.body.decode("utf-8")
            stripe.Webhook.construct_event(
                payload,
                request.headers.get("Stripe-Signature", ""),
                secret,
                tolerance=settings.STRIPE_WEBHOOK_TOLERANCE,
            )
            event = json.loads(payload)
        except stripe.SignatureVerificationError:
            raise WebhookRejected("bad Stripe-Signature") from None
        except (ValueError, TypeError, AttributeError, KeyError):
            # Signed but not an event object (the library assumes a JSON object).
            raise WebhookRejected("not a JSON Stripe event") from None
        if not isinstance(event, dict):
            raise WebhookRejected("not a JSON Stripe event")
        kind = event.get("type")
        obj = _get(event, "data", "object")
        if not isinstance(obj, dict):
            raise WebhookRejected("event without data.object")
        if kind in _SESSION_EVENTS:
            return self._session(event, obj)
        if kind == "invoice.paid":
            return self._invoice(event, obj)
        return []

    def _session(self, event: dict[str, Any], session: dict[str, Any]) -> list[IncomingGift]:
        if session.get("mode") == "subscription" or session.get("payment_status") != "paid":
            return []
        currency = _text(session.get("currency")).upper()
        reference = _text(session.get("payment_intent")) or _text(session.get("id"))
        if not reference:
            raise WebhookRejected("checkout session without an id")
        return [
            IncomingGift(
                reference=reference,
                amount=_amount(session.get("amount_total"), currency),
                currency=currency,
                donated_at=_when(event.get("created")),
                email=_text(_get(session, "customer_details", "email")) or _text(session.get("customer_email")),
                name=_text(_get(session, "customer_details", "name")),
                recurring=False,
                attribution_code=_text(_get(session, "metadata", "tocsin_ref")),
            )
        ]

    def _invoice(self, event: dict[str, Any], invoice: dict[str, Any]) -> list[IncomingGift]:
        currency = _text(invoice.get("currency")).upper()
        amount = _amount(invoice.get("amount_paid"), currency)
        if amount <= 0:
            return []  # a free trial or a fully credited invoice: no money changed hands
        # The PaymentIntent where the API version still has it (shared with the
        # checkout session), else the invoice's own id.
        reference = _text(invoice.get("payment_intent")) or _text(invoice.get("id"))
        if not reference:
            raise WebhookRejected("invoice without an id")
        subscription_metadata = _get(invoice, "subscription_details", "metadata") or _get(
            invoice, "parent", "subscription_details", "metadata"
        )
        code = _text(_get(invoice, "metadata", "tocsin_ref")) or _text(_get(subscription_metadata, "tocsin_ref"))
        recurring = bool(
            invoice.get("subscription")
            or _get(invoice, "parent", "subscription_details")
            or _text(invoice.get("billing_reason")).startswith("subscription")
        )
        return [
            IncomingGift(
                reference=reference,
                amount=amount,
                currency=currency,
                donated_at=_when(_get(invoice, "status_transitions", "paid_at") or event.get("created")),
                email=_text(invoice.get("customer_email")),
                name=_text(invoice.get("customer_name")),
                recurring=recurring,
                attribution_code=code,
            )
        ]
