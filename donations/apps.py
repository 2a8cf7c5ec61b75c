from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


def check_donation_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Bad donation settings stop the process at start, not at the first appeal's render."""
    from django.conf import settings

    from donations.currencies import is_currency

    errors: list[checks.CheckMessage] = []
    if not is_currency(settings.TOCSIN_DONATION_CURRENCY):
        errors.append(checks.Error("TOCSIN_DONATION_CURRENCY must be an ISO 4217 code", id="donations.E001"))
    try:
        ladder = [Decimal(value) for value in settings.TOCSIN_DEFAULT_ASK_LADDER]
    except InvalidOperation:
        ladder = []
    if not ladder or any(not amount.is_finite() or amount <= 0 for amount in ladder):
        errors.append(
            checks.Error("TOCSIN_DEFAULT_ASK_LADDER must be positive amounts, e.g. 25,50,100", id="donations.E002")
        )
    if settings.TOCSIN_ATTRIBUTION_WINDOW_DAYS < 0:
        errors.append(checks.Error("TOCSIN_ATTRIBUTION_WINDOW_DAYS cannot be negative", id="donations.E003"))
    return errors


class DonationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "donations"
    verbose_name = _("Donations")

    def ready(self) -> None:
        checks.register(check_donation_settings)

        # subscribers sits below donations: it tells, donations listens.
        from donations import people

        people.connect()

        # campaigns sits below donations too: an appeal's audience and its donate
        # buttons come from here, through the send pipeline's registry.
        from campaigns.sending import plugins
        from donations import ask_ladder, audience

        plugins.register_audience_filter(audience.FILTER_NAME, audience.donor_rules_sql)
        plugins.register_audience_note(audience.FILTER_NAME, audience.left_out_note)
        plugins.register_block(ask_ladder.BLOCK)
