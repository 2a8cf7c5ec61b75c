"""manage.py import_donations FILE.csv

All-or-nothing: a file with any bad row prints a per-row report on stderr,
exits with status 1 and writes nothing. Gifts already recorded (the same
reference, or without one the same email, amount, currency and date) are
skipped and listed (re-importing a file is harmless).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from donations.importing import COLUMNS, REQUIRED, ImportFailed, import_csv
from subscribers.management.base import TocsinCommand


class Command(TocsinCommand):
    help = (
        "Import gifts from a CSV file. Columns: "
        + ", ".join(COLUMNS)
        + f" ({', '.join(REQUIRED)} required; date as YYYY-MM-DD; amount with a dot, like 1234.50; "
        "reference is the payment provider's id, optional; campaign is an id or attribution code; "
        "recurring is true/false). Any bad row: a per-row report, exit status 1, nothing written. "
        "A gift already recorded (same reference, or without one same email, amount, currency and date) "
        "is skipped as a duplicate; a reference recorded with other details is a bad row."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="CSV file, UTF-8, with a header row")
        parser.add_argument("--dry-run", action="store_true", help="check the file and report, write nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        try:
            with path.open(encoding="utf-8-sig", newline="") as handle:
                result = import_csv(handle, dry_run=options["dry_run"])
        except ImportFailed as failed:
            for problem in failed.errors:
                self.stderr.write(str(problem))
            raise CommandError(str(failed), returncode=1) from None
        for problem in [*result.duplicates, *result.unattributed]:
            self.stdout.write(str(problem))
        if options["dry_run"]:
            self.stdout.write(f"dry run: {len(result.gifts)} gift(s) would be recorded, nothing written.")
        else:
            self.stdout.write(self.style.SUCCESS(result.summary()))
