"""manage.py restored_from_backup [--dry-run] — run right after restoring a database backup, before any worker or beat.

A restored ledger says "queued" for every email sent after the backup was
taken; without this command the workers would send those again. It holds
every send in doubt (campaigns/restoring.py, and the apps registered there:
letters to targets, journeys) for staff to resume or cancel, writes one audit
entry, and says what to do next. A second run finds nothing and says so.
``--dry-run`` does the same work in a transaction it rolls back.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser
from django.db import transaction

from campaigns import restoring
from campaigns.staff import audit
from config import health
from subscribers.management.base import TocsinCommand

ACTION = "restored-from-backup"


class Command(TocsinCommand):
    help = (
        "After restoring a database backup, before starting workers and beat: pause the campaigns, letters and "
        "journeys that were sending (staff resume or cancel them) and mark messages caught mid-send unknown."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="say what it would do, change nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run = options["dry_run"]
        running = health.fresh_workers()
        if running:
            # Too late to keep them from sending what the restore re-queued, but not to stop the rest.
            self.stderr.write(
                f"Workers are running ({', '.join(running[:5])}): stop every worker and beat now; "
                "anything they sent since the restore may have gone out twice. Holding the rest."
            )
        # One transaction: all held or nothing (no worker runs yet, so the locks wait for nobody).
        with transaction.atomic():
            parts = restoring.hold_everything()
            if parts and not dry_run:
                summary = "; ".join(total for part in parts for total in part.totals)
                audit.record(actor=None, action=ACTION, detail=f"manage.py restored_from_backup: {summary}")
            if dry_run:
                transaction.set_rollback(True)
        if not parts:
            self.stdout.write("Nothing to do: nothing was sending or due to send in the restored database.")
            self.stdout.write("Start the workers and beat.")
            return
        totals = "; ".join(total for part in parts for total in part.totals)
        if dry_run:
            self.stdout.write(f"Dry run, nothing changed. Without --dry-run: {totals}. It would:")
        else:
            self.stdout.write(f"Held after the restore: {totals}.")
        for part in parts:
            for line in part.lines:
                self.stdout.write(f"- {line}")
        if dry_run:
            return
        self.stdout.write("")
        self.stdout.write("Next, before anything more goes out:")
        for step in (step for part in parts for step in part.next_steps):
            self.stdout.write(f"- {step}")
        self.stdout.write(
            "- Then start the workers and beat: what staff resume goes out once, what they cancel never does."
        )
