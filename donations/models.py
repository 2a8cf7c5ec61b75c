"""Gifts: who gave what, when, through which channel, and which appeal brought it.

A gift's ``reference`` is the payment provider's own id (or the id in the
imported file): it is unique, so a re-imported file or a replayed webhook
can never count the same money twice. Gifts kept in a spreadsheet often have
no such id: without one (``reference`` empty), a gift is the donor's address,
the amount, the currency and the date, and that is unique instead.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign
from donations.currencies import is_currency
from subscribers.models import Subscriber, normalize_email

MAX_DIGITS = 12
DECIMAL_PLACES = 2


def validate_currency(value: str) -> None:
    if not is_currency(value):
        raise ValidationError(_("%(code)s is not an ISO 4217 currency code."), params={"code": value})


class Donation(models.Model):
    class Source(models.TextChoices):
        IMPORT = "import", _("CSV import")
        WEBHOOK = "webhook", _("Payment provider webhook")
        MANUAL = "manual", _("Manual entry")

    # Decimal, never float: a sum of floats loses cents, and reports must add up.
    amount = models.DecimalField(
        max_digits=MAX_DIGITS,
        decimal_places=DECIMAL_PLACES,
        validators=[MinValueValidator(Decimal("0.01"))],
        verbose_name=_("amount"),
    )
    currency = models.CharField(max_length=3, validators=[validate_currency], verbose_name=_("currency"))
    donated_at = models.DateTimeField(default=timezone.now, db_index=True, verbose_name=_("donated at"))
    donor_email = models.EmailField(max_length=254, blank=True, db_index=True, verbose_name=_("donor's email address"))
    donor_name = models.CharField(max_length=200, blank=True, verbose_name=_("donor's name"))
    subscriber = models.ForeignKey(
        Subscriber,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="donations",
        help_text=_("The subscriber with the donor's address, if any."),
        verbose_name=_("subscriber"),
    )
    recurring = models.BooleanField(
        default=False, help_text=_("Part of a monthly (or other regular) gift."), verbose_name=_("recurring")
    )
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.MANUAL, verbose_name=_("source"))
    campaign = models.ForeignKey(
        Campaign,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="donations",
        help_text=_("The appeal this gift is attributed to."),
        verbose_name=_("appeal"),
    )
    attribution_code = models.CharField(
        max_length=64,
        blank=True,
        help_text=_("The campaign code the gift arrived with, attributed or not."),
        verbose_name=_("attribution code"),
    )
    provider = models.CharField(
        max_length=32, blank=True, help_text=_("stripe, paypal, bank…"), verbose_name=_("payment provider")
    )
    reference = models.CharField(
        max_length=255,
        blank=True,
        help_text=_(
            "The payment provider's id for this gift: never counted twice. Empty when there is none: "
            "the gift is then told apart by address, amount, currency and date."
        ),
        verbose_name=_("reference"),
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("donation")
        verbose_name_plural = _("donations")
        ordering = ["-donated_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["reference"],
                condition=~models.Q(reference=""),
                name="donation_reference_unique",
                violation_error_message=_("A gift with this reference is already recorded."),
            ),
            # Imported gifts without a reference all stand at noon on their date,
            # so one address, amount, currency and date is one gift.
            models.UniqueConstraint(
                fields=["donor_email", "amount", "currency", "donated_at"],
                condition=models.Q(reference=""),
                name="donation_unreferenced_unique",
                violation_error_message=_(
                    "A gift from this address, of this amount and currency, on this date and without a "
                    "reference is already recorded."
                ),
            ),
        ]
        indexes = [
            # Audience rules ask "did this subscriber give since D?" once per subscriber.
            models.Index(fields=["subscriber", "donated_at"], name="donation_subscriber_time"),
            # Appeal reports group one campaign's gifts by currency.
            models.Index(fields=["campaign", "currency"], name="donation_campaign_currency"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} · {self.donor_email} · {self.donated_at:%Y-%m-%d}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.donor_email = normalize_email(self.donor_email)
        self.currency = self.currency.strip().upper()
        super().save(*args, **kwargs)
