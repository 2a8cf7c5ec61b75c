"""manage.py rollup_deliveries [--older-than-days N] [--campaign ID] — roll finished campaigns' ledgers up now.

Beat does the same every six hours with ``TOCSIN_LEDGER_RETENTION_DAYS``
(campaigns/rollup/). Safe to stop and run again: it carries on where it stopped.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from campaigns.models import Campaign
from campaigns.rollup.rolling import due_campaigns, roll_up
from subscribers.management.base import TocsinCommand


class Command(TocsinCommand):
    help = (
        "Roll the delivery rows of finished campaigns older than TOCSIN_LEDGER_RETENTION_DAYS up into exact "
        "per-campaign counts and per-person engagement, then delete them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than-days", type=int, default=None, help="instead of the setting")
        parser.add_argument("--campaign", type=int, default=None, help="roll this finished campaign up now")

    def handle(self, *args: Any, **options: Any) -> None:
        days, campaign_id = options["older_than_days"], options["campaign"]
        if days is not None and days < 0:
            raise CommandError("--older-than-days must be 0 or more")
        if campaign_id is not None:
            campaign = Campaign.objects.filter(pk=campaign_id).first()
            if campaign is None:
                raise CommandError(f"no campaign {campaign_id}")
            if campaign.status not in (Campaign.Status.SENT, Campaign.Status.CANCELLED) or not campaign.finished_at:
                raise CommandError(f"campaign {campaign_id} is {campaign.status}: only finished campaigns roll up")
            if campaign.kind == Campaign.Kind.APPEAL:
                raise CommandError("appeals keep their rows: gifts are attributed to whoever received them")
            if hasattr(campaign, "ab_test"):
                raise CommandError("A/B tests keep their rows: each variant's figures are read from them")
            ids = [campaign_id]
        else:
            ids = due_campaigns(retention_days=days)
        total = 0
        for one in ids:
            rows = roll_up(one)
            total += rows
            self.stdout.write(f"campaign {one}: {rows} delivery rows rolled up")
        self.stdout.write(f"{len(ids)} campaign(s), {total} rows")
