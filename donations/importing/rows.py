"""One row of a gift import: the columns, and a row checked into a ``ParsedGift``."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns.models import Campaign
from donations.models import Donation
from donations.services import InvalidDonation, campaign_for, clean_amount, clean_currency
from subscribers.dates import date_problem
from subscribers.models import normalize_email
from subscribers.spreadsheets import looks_like_formula
from subscribers.text import text_problem


@dataclass(frozen=True)
class Column:
    """One column of the import file, as the admin's import page and the sample file describe it."""

    name: str
    required: bool
    description: Any  # a lazy translation
    example: str
    example_without_reference: str


# The order of the sample file: one row with a provider's id, one kept by hand without.
GUIDE = (
    Column("email", True, gettext_lazy("The donor's address."), "ana@example.org", "rosa@example.org"),
    Column("amount", True, gettext_lazy("A dot before the cents, no thousands separator: 1234.50."), "25.50", "1000"),
    Column("currency", True, gettext_lazy("An ISO 4217 code: USD, EUR, PEN…"), "USD", "PEN"),
    Column("date", True, gettext_lazy("The day of the gift, as YYYY-MM-DD."), "2026-01-10", "2026-01-11"),
    Column(
        "reference",
        False,
        gettext_lazy(
            "The payment provider's id for the gift. Without one, a gift is told apart by address, amount, "
            "currency and date."
        ),
        "ch_3NkExample",
        "",
    ),
    Column("campaign", False, gettext_lazy("The appeal's id or attribution code."), "", ""),
    Column(
        "recurring", False, gettext_lazy("true for a monthly (or other regular) gift, else false."), "false", "true"
    ),
    Column("name", False, gettext_lazy("The donor's name."), "Ana Quispe", "Rosa Huamán"),
    Column("provider", False, gettext_lazy("Where the money came from: stripe, paypal, bank…"), "stripe", "bank"),
)
REQUIRED = tuple(column.name for column in GUIDE if column.required)
OPTIONAL = tuple(column.name for column in GUIDE if not column.required)
COLUMNS = REQUIRED + OPTIONAL
_TEXT_COLUMNS = ("email", "reference", "campaign", "name", "provider")
_MAX_LENGTH = {"email": 254, "reference": 255, "campaign": 64, "name": 200, "provider": 32}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TRUE = {"true", "yes", "1", "y"}
_FALSE = {"false", "no", "0", "n", ""}
_CHUNK = 900
_validate_email = EmailValidator()
T = TypeVar("T")


@dataclass(frozen=True)
class ParsedGift:
    line: int
    email: str
    name: str
    amount: Decimal
    currency: str
    donated_on: date
    reference: str
    recurring: bool
    campaign: Campaign | None
    code: str
    provider: str

    @property
    def donated_at(self) -> datetime:
        # Noon local time: a date-only gift stays on its date in every time zone report.
        return timezone.make_aware(datetime.combine(self.donated_on, time(12, 0)))

    @property
    def identity(self) -> Identity:
        return (self.email, self.amount, self.currency, self.donated_on)

    def same_gift(self, other: Donation | ParsedGift) -> bool:
        return self.identity == identity_of(other)


# What tells a gift without a reference apart: address, amount, currency, date.
Identity = tuple[str, Decimal, str, date]


def identity_of(gift: Donation | ParsedGift) -> Identity:
    if isinstance(gift, Donation):
        return (gift.donor_email, gift.amount, gift.currency, timezone.localdate(gift.donated_at))
    return gift.identity


class CampaignCache:
    def __init__(self) -> None:
        self._found: dict[str, Campaign | None] = {}

    def __call__(self, value: str) -> Campaign | None:
        if value not in self._found:
            self._found[value] = campaign_for(value)
        return self._found[value]


def _text_problem(column: str, value: str) -> str | None:
    problem = text_problem(value, single_line=True)
    if problem:
        return problem
    if looks_like_formula(value):
        return _("Looks like a spreadsheet formula: refused.")
    if len(value) > _MAX_LENGTH[column]:
        return _("Longer than %(max)d characters.") % {"max": _MAX_LENGTH[column]}
    return None


def _email(value: str) -> str:
    email = normalize_email(value)
    try:
        _validate_email(email)
    except ValidationError:
        raise InvalidDonation({"email": [_("Not a valid email address.")]}) from None
    return email


def _amount(value: str, currency: str) -> Decimal:
    if not value:
        raise InvalidDonation({"amount": [_("Missing.")]})
    if "," in value:
        raise InvalidDonation({"amount": [_("Write amounts with a dot and no thousands separator, like 1234.50.")]})
    return clean_amount(value, currency or "USD")


def _donated_on(value: str) -> date:
    not_a_date = InvalidDonation({"date": [_("Not a date: write it as YYYY-MM-DD.")]})
    if not _DATE.match(value):
        raise not_a_date
    try:
        donated_on = date.fromisoformat(value)
    except ValueError:
        raise not_a_date from None
    # One day of slack: the provider's time zone may be ahead of ours.
    if donated_on > timezone.localdate() + timedelta(days=1):
        raise InvalidDonation({"date": [_("In the future.")]})
    if problem := date_problem(donated_on):  # year 1 overflows in time-zone arithmetic
        raise InvalidDonation({"date": [problem]})
    return donated_on


def _recurring(value: str) -> bool:
    if value.lower() not in _TRUE | _FALSE:
        raise InvalidDonation({"recurring": [_("Write true or false.")]})
    return value.lower() in _TRUE


class _Problems:
    """Every problem of one row, gathered field by field (the row is reported whole)."""

    def __init__(self, text_problems: dict[str, list[str]]) -> None:
        self.errors = text_problems

    def check(self, column: str, parse: Callable[[], T], fallback: T) -> T:
        """``parse()``, or ``fallback`` with its problem noted; a column already refused is not parsed again."""
        if column in self.errors:
            return fallback
        try:
            return parse()
        except InvalidDonation as bad:
            self.errors.update(bad.errors)
            return fallback


def parse_row(line: int, row: dict[str, Any], *, campaigns: Any = campaign_for) -> ParsedGift:
    """One CSV row as a gift, or ``InvalidDonation`` with every problem in it."""
    values = {column: "" if row.get(column) is None else str(row.get(column)).strip() for column in COLUMNS}
    problems = _Problems(
        {
            column: [problem]
            for column in _TEXT_COLUMNS
            if (problem := _text_problem(column, values[column])) is not None
        }
    )
    email = problems.check("email", lambda: _email(values["email"]), "")
    currency = problems.check("currency", lambda: clean_currency(values["currency"]), "")
    amount = problems.check("amount", lambda: _amount(values["amount"], currency), Decimal(0))
    donated_on = problems.check("date", lambda: _donated_on(values["date"]), date.min)
    recurring = problems.check("recurring", lambda: _recurring(values["recurring"]), False)
    campaign = problems.check("campaign", lambda: _campaign(values["campaign"], campaigns), None)
    if problems.errors:
        raise InvalidDonation(problems.errors)
    return ParsedGift(
        line=line,
        email=email,
        name=values["name"],
        amount=amount,
        currency=currency,
        donated_on=donated_on,
        reference=values["reference"],
        recurring=recurring,
        campaign=campaign,
        code=campaign.attribution_code if campaign else "",
        provider=values["provider"],
    )


def _campaign(value: str, campaigns: Callable[[str], Campaign | None]) -> Campaign | None:
    if not value:
        return None
    campaign = campaigns(value)
    if campaign is None:
        raise InvalidDonation({"campaign": [_("No campaign with this id or attribution code.")]})
    return campaign
