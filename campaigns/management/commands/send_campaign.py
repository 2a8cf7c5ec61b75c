"""manage.py send_campaign ID [--wait] — start a send (through the approval gate) and watch it."""

from __future__ import annotations

import sys
import time
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _

from campaigns import lifecycle
from campaigns.models import Campaign
from subscribers.management.base import TocsinCommand

S = Campaign.Status
BAR_WIDTH = 30


def progress_line(counts: dict[str, int], *, rate: float) -> str:
    total = counts["recipients"] or 1
    done = counts["sent"] + counts["failed"] + counts["unknown"] + counts.get("skipped", 0)
    filled = int(BAR_WIDTH * min(done / total, 1))
    eta = f"{counts['pending'] / rate:.0f} s" if rate > 0 and counts["pending"] else "—"
    return _(
        "[%(bar)s] %(done)d/%(total)d  sent %(sent)d · failed %(failed)d · unknown %(unknown)d · "
        "left %(pending)d · %(rate).0f/s · ETA %(eta)s"
    ) % {
        "bar": "#" * filled + "-" * (BAR_WIDTH - filled),
        "done": done,
        "total": counts["recipients"],
        "rate": rate,
        "eta": eta,
        **counts,
    }


class Command(TocsinCommand):
    help = "Send a campaign now (Celery workers do the sending); --wait shows a progress bar until it ends."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("campaign_id", type=int)
        parser.add_argument("--wait", action="store_true", help="Show progress until the campaign is sent.")
        parser.add_argument("--interval", type=float, default=1.0, help=argparse_hide())

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            campaign = Campaign.objects.get(pk=options["campaign_id"])
        except Campaign.DoesNotExist:
            raise CommandError(_("There is no campaign %(id)s.") % {"id": options["campaign_id"]}) from None
        if campaign.status in (S.DRAFT, S.REVIEW, S.APPROVED, S.SCHEDULED):
            self._start(campaign)
            self.stdout.write(_("Sending “%(subject)s”.") % {"subject": campaign})
        elif campaign.status in (S.SENT, S.CANCELLED):
            raise CommandError(
                _("This campaign is %(status)s already.") % {"status": campaign.get_status_display().lower()}
            )
        if options["wait"]:
            self._wait(campaign, interval=options["interval"])

    def _start(self, campaign: Campaign) -> None:
        try:
            lifecycle.start(campaign=campaign, actor=None)
        except lifecycle.Refused as refused:
            raise CommandError(str(refused)) from refused

    def _wait(self, campaign: Campaign, *, interval: float) -> None:
        interactive = sys.stdout.isatty()
        samples: list[tuple[float, int]] = []
        while True:
            campaign.refresh_from_db()
            counts = lifecycle.campaign_counts(campaign)
            now = time.monotonic()
            samples = [*samples[-9:], (now, counts["sent"] + counts["failed"])]
            elapsed = samples[-1][0] - samples[0][0]
            rate = (samples[-1][1] - samples[0][1]) / elapsed if elapsed > 0 else 0.0
            line = progress_line(counts, rate=rate)
            if interactive:
                self.stdout.write("\r" + line, ending="")
                self.stdout.flush()
            else:
                self.stdout.write(line)
            if campaign.status in (S.SENT, S.CANCELLED, S.PAUSED):
                if interactive:
                    self.stdout.write("")
                message = _("Campaign %(status)s.") % {"status": campaign.get_status_display().lower()}
                if campaign.status_reason:
                    message += " " + campaign.status_reason
                if campaign.status == S.SENT:
                    self.stdout.write(self.style.SUCCESS(message))
                    return
                raise CommandError(message)
            time.sleep(interval)


def argparse_hide() -> str:
    import argparse

    return argparse.SUPPRESS
