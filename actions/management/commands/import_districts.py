"""manage.py import_districts FILE.csv

Postal prefix → district rows. All-or-nothing: a file with any bad row
prints a per-row report on stderr, exits with status 1 and writes nothing.
A re-import replaces the rows of the prefixes it names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from actions.importing import DISTRICT_COLUMNS, DISTRICT_REQUIRED, ImportFailed, import_districts
from subscribers.management.base import TocsinCommand


class Command(TocsinCommand):
    help = (
        "Import postal prefix → district rows from a CSV file. Columns: "
        + ", ".join(DISTRICT_COLUMNS)
        + f" ({', '.join(DISTRICT_REQUIRED)} required; postal_prefix is a Canadian FSA such as K1A or a whole "
        "postal code; district is a district code). The longest matching prefix wins; a prefix listed with "
        "several districts lets the supporter choose. A re-import replaces the rows of the prefixes it names; "
        "any bad row: a per-row report, exit status 1, nothing written."
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
                result = import_districts(handle, dry_run=options["dry_run"])
        except ImportFailed as failed:
            for problem in failed.errors:
                self.stderr.write(str(problem))
            raise CommandError(str(failed), returncode=1) from None
        for problem in result.duplicates:
            self.stdout.write(str(problem))
        if options["dry_run"]:
            self.stdout.write(f"dry run: {result.rows} row(s) for {result.prefixes} prefix(es), nothing written.")
        else:
            self.stdout.write(self.style.SUCCESS(result.summary()))
