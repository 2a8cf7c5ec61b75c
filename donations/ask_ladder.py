"""Suggested amounts for an appeal's donate buttons, per recipient.

Someone who last gave 40 is asked for 40, 60 and 80; someone who never gave
gets the organisation's default ladder (``TOCSIN_DEFAULT_ASK_LADDER`` in
``TOCSIN_DONATION_CURRENCY``). Amounts are rounded to numbers a person would
type (5, 10, 25, 50…), since "37.13" reads like a bill, not a suggestion.

``ladders_for`` serves a whole send batch with one query; ``ladder_for`` is
the one-recipient shortcut for previews and test sends. ``BLOCK`` is how the
buttons get into an appeal's email: campaigns sits below donations, so
``DonationsConfig.ready()`` registers it as a per-recipient block
(``campaigns/sending/plugins.py``) and the appeal templates place it with
``{{ blocks.ask_ladder }}``.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.db.models import OuterRef, Subquery
from django.template.loader import render_to_string
from django.utils import formats

from campaigns.models import Campaign
from campaigns.sending.plugins import BlockSource, RecipientBlock
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


def with_currency(url: str, currency: str) -> str:
    """``url`` with ``currency`` and without any ``amount``: the "Other amount" link."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in {"amount", "currency"}]
    return urlunsplit(parts._replace(query=urlencode([*query, ("currency", currency)])))


# Signs written before the amount; other currencies show their code after it ("50 PEN").
_CURRENCY_SIGNS = {"USD": "$", "GBP": "£", "EUR": "€"}


def money(amount: Decimal, currency: str) -> str:
    """``35, "USD"`` → "$35", in the active language's number format."""
    whole = amount == amount.to_integral_value()
    number = formats.number_format(amount, decimal_pos=0 if whole else 2, use_l10n=True)
    sign = _CURRENCY_SIGNS.get(currency)
    if sign is None:
        return f"{number}\u00a0{currency}"
    return f"{sign}{number}"


# --- the appeal email's buttons (a campaigns plugin) -----------------------------------------


def asks_amounts(campaign: Campaign) -> bool:
    """Whether an appeal's donate link gets suggested amounts.

    Staff who put an ``amount`` in the link chose the ask themselves: one
    button with their amount, not a ladder that would override it.
    """
    url = campaign.call_to_action_url
    if campaign.kind != Campaign.Kind.APPEAL or not url:
        return False
    return not any(key == "amount" for key, _value in parse_qsl(urlsplit(url).query, keep_blank_values=True))


def _ladders_of(campaign: Campaign, subscriber_ids: Sequence[int]) -> Mapping[int, Hashable]:
    return ladders_for(subscriber_ids)


def _default_of(campaign: Campaign) -> Hashable:
    return default_ladder()


def render_buttons(ladder: Hashable, source: BlockSource) -> tuple[str, str]:
    """(HTML, text) of one ladder's buttons, in the active language; the renderer inlines and tracks them."""
    assert isinstance(ladder, AskLadder)
    context = {
        "cta_text": source.cta_text,
        "rungs": [
            {"label": money(amount, ladder.currency), "url": url} for amount, url in ask_urls(source.cta_url, ladder)
        ],
        "other_url": with_currency(source.cta_url, ladder.currency),
    }
    return (
        render_to_string("emails/donations/ask_ladder.html", context),
        render_to_string("emails/donations/ask_ladder.txt", context),
    )


BLOCK = RecipientBlock(
    name="ask_ladder", applies=asks_amounts, values_for=_ladders_of, default=_default_of, render=render_buttons
)
