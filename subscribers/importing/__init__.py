"""CSV import of supporters, shared by ``manage.py import_subscribers`` and the admin.

All-or-nothing: every row is checked first (``parsing``), and one bad row
means a per-row report and nothing written. A valid file is written in one
transaction with batched queries, no query per row (``writing``): 100,000
rows must take seconds, not minutes.

Imported people count as confirmed, and the import is recorded as their
consent (file name and the ``consent_source`` text as evidence). Suppressed
addresses (unsubscribed, bounced, complained, erased) are never brought back
by an import, nor is anyone put back on a list they left.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.utils.translation import gettext as _

from subscribers.importing.parsing import parse_csv, shown
from subscribers.importing.rows import COLUMNS, ImportFailed, ImportResult, ImportRow, ParsedFile, RowProblem
from subscribers.importing.writing import import_rows
from subscribers.models import MailingList

__all__ = [
    "COLUMNS",
    "ImportFailed",
    "ImportResult",
    "ImportRow",
    "ParsedFile",
    "RowProblem",
    "import_csv",
    "import_rows",
    "parse_csv",
]


def import_csv(
    lines: Iterable[str], *, list_slug: str, filename: str, actor: Any = None, list_name: str = ""
) -> ImportResult:
    """Check, then import; ``ImportFailed`` (nothing written) when any row is bad."""
    try:
        validate_slug(list_slug)
        if len(list_slug) > MailingList._meta.get_field("slug").max_length:  # type: ignore[operator]
            raise ValidationError("too long")
    except ValidationError:
        raise ImportFailed(
            [
                RowProblem(
                    0,
                    "",
                    _("%(slug)s is not a valid list slug (letters, digits, - and _)") % {"slug": shown(list_slug)},
                )
            ]
        ) from None
    parsed = parse_csv(lines)
    if parsed.errors:
        raise ImportFailed(parsed.errors)
    result = import_rows(rows=parsed.rows, list_slug=list_slug, filename=filename, actor=actor, list_name=list_name)
    result.rows += len(parsed.skipped)
    result.skipped = sorted(parsed.skipped + result.skipped, key=lambda problem: problem.line)
    return result
