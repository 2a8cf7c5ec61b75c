"""Start-up checks (`manage.py check`, runserver, migrate): settings that fit badly together."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Warning, register

from campaigns.models import RECENT_SENDS


@register()
def cap_within_retention(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """A cap counted from the ledger must not look further back than the ledger keeps its rows.

    Caps of fewer than ``RECENT_SENDS`` emails are read from each person's
    latest sends (campaigns/sending/frequency.py), which the roll-up leaves
    alone; larger ones count the ledger's sent rows, and a campaign rolled up
    after ``TOCSIN_LEDGER_RETENTION_DAYS`` has none left to count.
    """
    cap, retention_days = settings.TOCSIN_FREQUENCY_CAP, settings.TOCSIN_LEDGER_RETENTION_DAYS
    if not cap or retention_days <= 0:
        return []
    count, window_hours = cap
    if count < RECENT_SENDS or window_hours <= retention_days * 24:
        return []
    window = f"{window_hours // 24} days" if window_hours % 24 == 0 else f"{window_hours} hours"
    return [
        Warning(
            f"TOCSIN_FREQUENCY_CAP counts {count} emails over {window}, but the ledger keeps sent rows only "
            f"{retention_days} days (TOCSIN_LEDGER_RETENTION_DAYS): sends older than that will not count.",
            hint=(
                f"Use a cap of fewer than {RECENT_SENDS} emails (read from each person's latest sends, kept "
                "whatever the retention), a shorter window, or a longer TOCSIN_LEDGER_RETENTION_DAYS."
            ),
            id="tocsin.W001",
        )
    ]
