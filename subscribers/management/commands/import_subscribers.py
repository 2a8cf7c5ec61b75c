"""manage.py import_subscribers FILE.csv --list SLUG

All-or-nothing: a file with any bad row prints a per-row report, exits with
status 1 and writes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from subscribers.importing import COLUMNS, ImportFailed, import_csv
from subscribers.management.base import TocsinCommand


class Command(TocsinCommand):
    help = (
        "Import supporters from a CSV file into a list (created if missing). Columns: "
        + ", ".join(COLUMNS)
        + " (only email is required). Imported people count as confirmed; the file name and "
        "consent_source are kept as their consent record. Suppressed addresses are skipped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="CSV file, UTF-8, with a header row")
        parser.add_argument("--list", dest="list_slug", required=True, help="slug of the list to add people to")
        parser.add_argument("--list-name", default="", help="name for the list when it is created")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        try:
            with path.open(encoding="utf-8-sig", newline="") as handle:
                result = import_csv(
                    handle, list_slug=options["list_slug"], filename=path.name, list_name=options["list_name"]
                )
        except ImportFailed as failed:
            for problem in failed.errors:
                self.stderr.write(str(problem))
            raise CommandError(str(failed)) from None
        for problem in result.skipped:
            self.stdout.write(str(problem))
        self.stdout.write(self.style.SUCCESS(result.summary()))
