"""Recording gifts: one function every channel (import, webhook, admin) goes through.

Matching a donor to a subscriber is by address, case-insensitively. A gift
that carries an appeal's attribution code counts for that appeal only when it
arrives within ``TOCSIN_ATTRIBUTION_WINDOW_DAYS`` after the appeal started
sending: a code found in a bookmark a year later says little about the appeal.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import Campaign
from donations.currencies import exponent, is_currency
from donations.models import DECIMAL_PLACES, MAX_DIGITS, Donation
from donations.signals import donation_received
from subscribers.models import Subscriber, normalize_email
from subscribers.text import text_problem

_validate_email = EmailValidator()


class InvalidDonation(ValueError):
    """A gift that cannot be recorded; ``errors`` maps a field to its messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in errors.items()))
        self.errors = errors


def clean_currency(value: str) -> str:
    code = value.strip().upper()
    if not is_currency(code):
        raise InvalidDonation(
            {
                "currency": [
                    _("Unknown currency %(code)r: use an ISO 4217 code such as USD or EUR.") % {"code": value[:10]}
                ]
            }
        )
    return code


def clean_amount(value: Decimal | str, currency: str) -> Decimal:
    """A positive amount with no more decimals than the currency has (and than we store)."""
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise InvalidDonation(
            {"amount": [_("Not a number: write it like 1234.50 (a dot, no thousands separator).")]}
        ) from None
    if not amount.is_finite() or amount <= 0:
        raise InvalidDonation({"amount": [_("The amount must be a positive number.")]})
    if amount.adjusted() >= MAX_DIGITS - DECIMAL_PLACES:
        raise InvalidDonation({"amount": [_("The amount is too large.")]})
    places = min(DECIMAL_PLACES, exponent(currency))
    if amount != amount.quantize(Decimal(1).scaleb(-places)):
        raise InvalidDonation(
            {
                "amount": [
                    _("%(currency)s amounts have at most %(places)d decimal places.")
                    % {"currency": currency, "places": places}
                ]
            }
        )
    return amount.quantize(Decimal(1).scaleb(-DECIMAL_PLACES))


def clean_email(value: str) -> str:
    """The donor's address, normalised; "" stays "" (a gift may come without one).

    Whatever the channel: an address with a line break in it would be a
    header injection the day someone writes to the donor.
    """
    email = normalize_email(value)
    if not email:
        return ""
    try:
        if text_problem(email, single_line=True) or len(email) > Donation._meta.get_field("donor_email").max_length:  # type: ignore[operator]
            raise ValidationError("unsafe")
        _validate_email(email)
    except ValidationError:
        raise InvalidDonation({"email": [_("Not a valid email address.")]}) from None
    return email


def _check_text(**fields: str) -> None:
    errors = {field: [problem] for field, value in fields.items() if (problem := text_problem(value, single_line=True))}
    if errors:
        raise InvalidDonation(errors)


def match_subscriber(email: str) -> Subscriber | None:
    return Subscriber.objects.annotate(email_lower=Lower("email")).filter(email_lower=normalize_email(email)).first()


def campaign_for(value: str) -> Campaign | None:
    """The campaign named by an id or an attribution code (the import's ``campaign`` column)."""
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        found = Campaign.objects.filter(pk=int(value)).first()
        if found:
            return found
    return Campaign.objects.filter(attribution_code=value).first()


def attribution_window(campaign: Campaign) -> tuple[date, date] | None:
    """The local dates (inclusive) a gift must fall on to count for ``campaign``.

    Whole days, because imported gifts only carry a date: a gift made the
    morning an appeal went out at noon must still count.
    """
    if campaign.started_at is None:
        return None
    first = timezone.localdate(campaign.started_at)
    return first, first + timedelta(days=settings.TOCSIN_ATTRIBUTION_WINDOW_DAYS)


def attributable(campaign: Campaign, donated_at: datetime) -> bool:
    window = attribution_window(campaign)
    return window is not None and window[0] <= timezone.localdate(donated_at) <= window[1]


def attribute(*, code: str, donated_at: datetime, campaign: Campaign | None = None) -> Campaign | None:
    """The campaign a gift with ``code`` (or naming ``campaign``) counts for, if inside the window."""
    campaign = campaign or (campaign_for(code) if code else None)
    if campaign is not None and attributable(campaign, donated_at):
        return campaign
    return None


def record_donation(
    *,
    email: str,
    amount: Decimal | str,
    currency: str,
    donated_at: datetime,
    reference: str,
    source: str,
    name: str = "",
    recurring: bool = False,
    provider: str = "",
    attribution_code: str = "",
    campaign: Campaign | None = None,
    subscriber: Subscriber | None = None,
) -> tuple[Donation, bool]:
    """Record one gift; ``(donation, False)`` when its reference was already recorded.

    Replays and re-imports are expected, so an existing reference is not an
    error: the first record wins and nothing is counted twice.
    """
    reference = reference.strip()
    if not reference:
        raise InvalidDonation({"reference": [_("A gift needs the provider's reference.")]})
    _check_text(reference=reference, name=name, campaign=attribution_code, provider=provider)
    if len(reference) > Donation._meta.get_field("reference").max_length:  # type: ignore[operator]
        raise InvalidDonation({"reference": [_("The reference is too long.")]})
    existing = Donation.objects.filter(reference=reference).first()
    if existing:
        return existing, False
    currency = clean_currency(currency)
    amount = clean_amount(amount, currency)
    email = clean_email(email)
    code = attribution_code.strip() or (campaign.attribution_code if campaign else "")
    donation = Donation(
        amount=amount,
        currency=currency,
        donated_at=donated_at,
        donor_email=email,
        donor_name=name.strip()[:200],
        subscriber=subscriber or (match_subscriber(email) if email else None),
        recurring=recurring,
        source=source,
        provider=provider,
        reference=reference,
        attribution_code=code[:64],
        campaign=attribute(code=code, donated_at=donated_at, campaign=campaign),
    )
    try:
        # A savepoint: the same gift may arrive twice at once (webhook retry
        # racing the first delivery); the unique reference decides who wins.
        with transaction.atomic():
            donation.save()
            donation_received.send(sender=Donation, donation=donation)
    except IntegrityError:
        winner = Donation.objects.filter(reference=reference).first()
        if winner is None:
            raise
        return winner, False
    return donation, True


def relink_unmatched() -> int:
    """Match gifts recorded before their donor subscribed; one UPDATE, returns how many."""
    subscriber_id = (
        Subscriber.objects.annotate(email_lower=Lower("email"))
        .filter(email_lower=OuterRef("donor_email"))
        .values("pk")[:1]
    )
    return (
        Donation.objects.filter(subscriber__isnull=True)
        .annotate(match=Subquery(subscriber_id))
        .filter(match__isnull=False)
        .update(subscriber=Subquery(subscriber_id))
    )


def forget_donor(*, email: str) -> int:
    """GDPR erasure of a donor: drop the address and name, keep the gift's money and date.

    The amounts stay (accounting law keeps financial records for years, and
    reports must still add up); nothing left points at the person.
    """
    return Donation.objects.filter(donor_email=normalize_email(email)).update(
        donor_email="", donor_name="", subscriber=None
    )
