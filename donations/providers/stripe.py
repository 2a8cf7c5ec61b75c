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

Once the signature checks, the event is Stripe's: nothing in it may cause a
500 or a 400 (Stripe retries both for three days). Names and codes lose the
characters ``subscribers/text.py`` refuses, a timestamp outside any plausible
range gives way to the time of arrival, and what cannot be read at all is
``UnusableEvent`` (acknowledged, and recorded for staff).
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
from donations.providers import IncomingGift, UnusableEvent, WebhookRejected, plausible_moment
from subscribers.text import clean_text

_SESSION_EVENTS = {"checkout.session.completed", "checkout.session.async_payment_succeeded"}


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _cleaned(value: Any, limit: int) -> str:
    """Text only shown or matched (a name, an appeal's code): keep what can be kept."""
    return clean_text(_text(value)[: 4 * limit], single_line=True).strip()[:limit]


def _when(*timestamps: Any) -> datetime:
    """The first plausible of ``timestamps``, else now (the gift arrived now, at the latest)."""
    for timestamp in timestamps:
        moment = plausible_moment(timestamp)
        if moment is not None:
            return moment
    return datetime.now(tz=UTC)


def _amount(value: Any, currency: str, event: dict[str, Any]) -> Decimal:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _unusable(event, "the amount is not an integer number of minor units")
    return from_minor_units(value, currency)


def _unusable(event: dict[str, Any], reason: str) -> UnusableEvent:
    return UnusableEvent(reason, event_id=_text(event.get("id")), event_type=_text(event.get("type")))


class StripeProvider:
    name = "stripe"

    def parse(self, request: HttpRequest) -> list[IncomingGift]:
        secret = settings.STRIPE_WEBHOOK_SECRET
        if not secret:
            raise WebhookRejected("STRIPE_WEBHOOK_SECRET is not set: Stripe events cannot be verified")
        try:
            payload = request.body.decode("utf-8")
        except UnicodeDecodeError:
            raise WebhookRejected("the body is not UTF-8: no signature can match it") from None
        try:
            stripe.WebhookSignature.verify_header(
                payload,
                request.headers.get("Stripe-Signature", ""),
                secret,
                tolerance=settings.STRIPE_WEBHOOK_TOLERANCE,
            )
        except stripe.SignatureVerificationError:
            raise WebhookRejected("bad Stripe-Signature") from None
        try:
            event = json.loads(payload)
        except (ValueError, RecursionError):
            raise UnusableEvent("signed, but not JSON") from None
        if not isinstance(event, dict):
            raise UnusableEvent("signed, but not a JSON object")
        kind = _text(event.get("type"))
        obj = _get(event, "data", "object")
        if not isinstance(obj, dict):
            raise _unusable(event, "event without data.object")
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
            raise _unusable(event, "checkout session without an id")
        return [
            IncomingGift(
                reference=reference,
                amount=_amount(session.get("amount_total"), currency, event),
                currency=currency,
                donated_at=_when(event.get("created")),
                email=_text(_get(session, "customer_details", "email")) or _text(session.get("customer_email")),
                name=_cleaned(_get(session, "customer_details", "name"), 200),
                recurring=False,
                attribution_code=_cleaned(_get(session, "metadata", "tocsin_ref"), 64),
                event_id=_text(event.get("id")),
                event_type=_text(event.get("type")),
            )
        ]

    def _invoice(self, event: dict[str, Any], invoice: dict[str, Any]) -> list[IncomingGift]:
        currency = _text(invoice.get("currency")).upper()
        amount = _amount(invoice.get("amount_paid"), currency, event)
        if amount <= 0:
            return []  # a free trial or a fully credited invoice: no money changed hands
        # The PaymentIntent where the API version still has it (shared with the
        # checkout session), else the invoice's own id.
        reference = _text(invoice.get("payment_intent")) or _text(invoice.get("id"))
        if not reference:
            raise _unusable(event, "invoice without an id")
        subscription_metadata = _get(invoice, "subscription_details", "metadata") or _get(
            invoice, "parent", "subscription_details", "metadata"
        )
        code = _cleaned(_get(invoice, "metadata", "tocsin_ref"), 64) or _cleaned(
            _get(subscription_metadata, "tocsin_ref"), 64
        )
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
                donated_at=_when(_get(invoice, "status_transitions", "paid_at"), event.get("created")),
                email=_text(invoice.get("customer_email")),
                name=_cleaned(invoice.get("customer_name"), 200),
                recurring=recurring,
                attribution_code=code,
                event_id=_text(event.get("id")),
                event_type=_text(event.get("type")),
            )
        ]
