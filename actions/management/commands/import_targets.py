"""manage.py import_targets FILE.csv

All-or-nothing: a file with any bad row prints a per-row report on stderr,
exits with status 1 and writes nothing. A re-import updates targets by email.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from actions.importing import TARGET_COLUMNS, TARGET_REQUIRED, ImportFailed, import_targets
from subscribers.management.base import TocsinCommand


class Command(TocsinCommand):
    help = (
        "Import decision-makers (targets) from a CSV file. Columns: "
        + ", ".join(TARGET_COLUMNS)
        + f" ({', '.join(TARGET_REQUIRED)} required; group is a short name such as mps, several as mps;ministers; "
        "district is a district code; do_not_email is true/false). A re-import updates targets by email; "
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
                result = import_targets(handle, dry_run=options["dry_run"])
        except ImportFailed as failed:
            for problem in failed.errors:
                self.stderr.write(str(problem))
            raise CommandError(str(failed), returncode=1) from None
        if options["dry_run"]:
            self.stdout.write(f"dry run: {len(result.targets)} target(s) checked, nothing written.")
        else:
            self.stdout.write(self.style.SUCCESS(result.summary()))
