"""manage.py import_suppressions FILE.csv [--reason REASON] [--dry-run]

The unsubscribes, bounces and complaints another provider (or a backup's
provider since the backup) recorded: a generic CSV or Mailchimp's
unsubscribed and cleaned exports, as they come (subscribers/importing/
suppression_file.py says which columns are read). Bad rows are reported
with their line and skipped; nobody is ever subscribed by it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from subscribers.importing.suppressing import apply_suppressions
from subscribers.importing.suppression_file import REASONS, SuppressionFileError, read_suppressions
from subscribers.management.base import TocsinCommand


class Command(TocsinCommand):
    help = (
        "Suppress the addresses in a CSV file: columns email, reason (unsubscribed, bounced or complained), "
        "date; or Mailchimp's unsubscribed_members / cleaned_members export as it comes. Existing subscribers "
        "are taken off every list; unknown addresses are only suppressed, never subscribed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="CSV file, UTF-8, with a header row")
        parser.add_argument(
            "--reason",
            choices=[reason.value for reason in REASONS],
            help="reason for rows without one (required when the file has no reason column)",
        )
        parser.add_argument("--dry-run", action="store_true", help="check and count, write nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        try:
            parsed = read_suppressions(path.read_bytes(), reason=options["reason"])
        except SuppressionFileError as bad:
            raise CommandError(str(bad)) from None
        result = apply_suppressions(parsed, filename=path.name, dry_run=options["dry_run"])
        for problem in sorted(result.problems + result.duplicates, key=lambda problem: problem.line):
            self.stderr.write(str(problem))
        self.stdout.write(self.style.SUCCESS(result.summary()))
