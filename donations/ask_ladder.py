"""Suggested amounts for an appeal's donate buttons, per recipient.

Someone who last gave 40 is asked for 40, 60 and 80; someone who never gave
gets the organisation's default ladder (``TOCSIN_DEFAULT_ASK_LADDER`` in
``TOCSIN_DONATION_CURRENCY``). Amounts are rounded to numbers a person would
type (5, 10, 25, 50…), since "37.13" reads like a bill, not a suggestion.

``ladders_for`` serves a whole send batch with one query; ``ladder_for`` is
the one-recipient shortcut for previews and test sends.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.db.models import OuterRef, Subquery

from donations.models import Donation
from subscribers.models import Subscriber

MULTIPLIERS = (Decimal(1), Decimal("1.5"), Decimal(2))


@dataclass(frozen=True)
class AskLadder:
    currency: str
    amounts: tuple[Decimal, ...]
    from_last_gift: bool


def _step(amount: Decimal) -> Decimal:
    for limit, step in ((10, 1), (50, 5), (200, 10), (1000, 50), (5000, 100)):
        if amount < limit:
            return Decimal(step)
    return Decimal(500)


def nice(amount: Decimal) -> Decimal:
    """``amount`` rounded to the nearest step that suits its size (never below 1)."""
    step = _step(amount)
    return max(step, (amount / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step)


def ladder_from(last_amount: Decimal) -> tuple[Decimal, ...]:
    amounts: list[Decimal] = []
    for multiplier in MULTIPLIERS:
        amount = nice(last_amount * multiplier)
        if amounts and amount <= amounts[-1]:
            # Rounding can merge rungs (1 → 1, 2, 2): keep three distinct asks.
            amount = amounts[-1] + _step(amounts[-1])
        amounts.append(amount)
    return tuple(amounts)


def default_ladder() -> AskLadder:
    amounts = tuple(Decimal(value) for value in settings.TOCSIN_DEFAULT_ASK_LADDER)
    return AskLadder(currency=settings.TOCSIN_DONATION_CURRENCY, amounts=amounts, from_last_gift=False)


def ladders_for(subscriber_ids: Iterable[int]) -> dict[int, AskLadder]:
    """Every subscriber's ladder, from their last gift, in one query (default for non-donors)."""
    ids = list(subscriber_ids)
    latest = Donation.objects.filter(subscriber_id=OuterRef("subscriber_id")).order_by("-donated_at", "-id")
    last_gifts = Donation.objects.filter(subscriber_id__in=ids, pk=Subquery(latest.values("pk")[:1])).values_list(
        "subscriber_id", "amount", "currency"
    )
    ladders = {
        subscriber_id: AskLadder(currency=currency, amounts=ladder_from(amount), from_last_gift=True)
        for subscriber_id, amount, currency in last_gifts
    }
    fallback = default_ladder()
    return {subscriber_id: ladders.get(subscriber_id, fallback) for subscriber_id in ids}


def ladder_for(subscriber: Subscriber | None) -> AskLadder:
    if subscriber is None or subscriber.pk is None:
        return default_ladder()
    return ladders_for([subscriber.pk])[subscriber.pk]


def ask_urls(url: str, ladder: AskLadder) -> list[tuple[Decimal, str]]:
    """One donate link per rung: ``url`` with ``amount`` and ``currency`` added (its own query kept).

    For the renderer's donate buttons; the donation page reads them to preselect
    the amount. The appeal's attribution parameters are added by the renderer.
    """
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in {"amount", "currency"}]
    return [
        (
            amount,
            urlunsplit(
                parts._replace(query=urlencode([*query, ("amount", str(amount)), ("currency", ladder.currency)]))
            ),
        )
        for amount in ladder.amounts
    ]
