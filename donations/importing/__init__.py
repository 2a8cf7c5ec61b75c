"""CSV import of gifts, shared by ``manage.py import_donations`` and the admin import.

Columns (header row, any order, case-insensitive): ``email``, ``amount``
(a dot before the cents, no thousands separator), ``currency`` (ISO 4217),
``date`` (YYYY-MM-DD) — all required — and optional ``reference`` (the payment
provider's id for the gift), ``campaign`` (a campaign id or attribution code),
``recurring`` (true/false), ``name``, ``provider``.

All-or-nothing: every row is checked first; any bad row means a per-row
report and nothing written.

Duplicates: two gifts are the same when they have the same reference, or,
when either has none (a spreadsheet kept by hand), the same email, amount,
currency and date. A gift already recorded (in the database or earlier in
the file) is skipped and listed, so re-importing a file is harmless. The
same reference with different details is a bad row: two gifts cannot share
a provider id, so one of them is a mistake someone must look at.

Cells that a spreadsheet would run as a formula (``=cmd|…``, ``+``, ``-``,
``@``…) are refused in text columns: the file is suspect, and these values
would later travel into exports.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from donations.importing.duplicates import already_recorded, find_recorded, report_column, same_as_line
from donations.importing.rows import COLUMNS, GUIDE, REQUIRED, CampaignCache, Identity, ParsedGift, parse_row
from donations.models import Donation
from donations.services import InvalidDonation, attributable
from subscribers.importing import RowProblem  # one shape of CSV problem report for every importer
from subscribers.models import Subscriber

__all__ = [
    "COLUMNS",
    "GUIDE",
    "REQUIRED",
    "ImportFailed",
    "ImportResult",
    "ParsedGift",
    "check_csv",
    "find_recorded",
    "import_csv",
    "parse_row",
    "sample_csv",
]

_CHUNK = 900


@dataclass
class ImportResult:
    created: int = 0
    duplicates: list[RowProblem] = field(default_factory=list)
    unattributed: list[RowProblem] = field(default_factory=list)
    gifts: list[ParsedGift] = field(default_factory=list)

    def summary(self) -> str:
        return _(
            "%(created)d gift(s) recorded, %(duplicates)d duplicate(s) skipped, "
            "%(unattributed)d outside their campaign's attribution window (kept, not attributed)."
        ) % {"created": self.created, "duplicates": len(self.duplicates), "unattributed": len(self.unattributed)}


class ImportFailed(Exception):
    def __init__(self, errors: list[RowProblem]) -> None:
        super().__init__(_("%(count)d problem(s): nothing was imported.") % {"count": len(errors)})
        self.errors = errors


def _rows(handle: Iterable[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.reader(handle)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFailed([RowProblem(0, "", _("The file is empty."))]) from None
    names = [name.strip().lower().lstrip("\ufeff") for name in header]
    missing = [column for column in REQUIRED if column not in names]
    if missing:
        raise ImportFailed([RowProblem(1, "", _("Missing column(s): %(columns)s.") % {"columns": ", ".join(missing)})])
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        row: dict[str, Any] = dict(zip(names, cells, strict=False))
        if len(cells) > len(names):
            row[None] = cells[len(names) :]  # type: ignore[index]
        yield reader.line_num, row


class _ReferenceReused(Exception):
    """Two rows of the file give one provider id to different gifts."""


class _SeenInFile:
    """The gifts kept so far, found by reference and by identity (for the rows
    without a reference, and for a referenced row matching one of those)."""

    def __init__(self) -> None:
        self.by_reference: dict[str, ParsedGift] = {}
        self.by_identity: dict[Identity, ParsedGift] = {}
        self.unreferenced: dict[Identity, ParsedGift] = {}

    def earlier(self, gift: ParsedGift) -> ParsedGift | None:
        """The same gift earlier in the file; ``_ReferenceReused`` for its reference on a different gift."""
        if not gift.reference:
            return self.by_identity.get(gift.identity)
        earlier = self.by_reference.get(gift.reference)
        if earlier is not None and not earlier.same_gift(gift):
            raise _ReferenceReused(_("Already used by a different gift on line %(line)d.") % {"line": earlier.line})
        return earlier or self.unreferenced.get(gift.identity)

    def keep(self, gift: ParsedGift) -> None:
        self.by_identity.setdefault(gift.identity, gift)
        if gift.reference:
            self.by_reference[gift.reference] = gift
        else:
            self.unreferenced[gift.identity] = gift


def _read_gifts(handle: Iterable[str], errors: list[RowProblem], result: ImportResult) -> list[ParsedGift]:
    """Every good row's gift, once; bad rows go to ``errors``, repeats to ``result.duplicates``."""
    seen = _SeenInFile()
    kept: list[ParsedGift] = []
    campaigns = CampaignCache()
    for line, row in _rows(handle):
        if None in row:
            errors.append(RowProblem(line, "", _("More cells than columns.")))
            continue
        try:
            gift = parse_row(line, row, campaigns=campaigns)
            earlier = seen.earlier(gift)
        except InvalidDonation as bad:
            errors.extend(RowProblem(line, column, " ".join(msgs)) for column, msgs in bad.errors.items())
        except _ReferenceReused as reused:
            errors.append(RowProblem(line, "reference", str(reused)))
        else:
            if earlier is not None:
                result.duplicates.append(same_as_line(gift, earlier))
            else:
                kept.append(gift)
                seen.keep(gift)
    return kept


def check_csv(handle: Iterable[str]) -> ImportResult:
    """Read and check the whole file without writing; raise ``ImportFailed`` on any bad row."""
    errors: list[RowProblem] = []
    result = ImportResult()
    try:
        kept = _read_gifts(handle, errors, result)
    except UnicodeDecodeError:
        raise ImportFailed([RowProblem(0, "", _("The file is not UTF-8 text."))]) from None
    except csv.Error as bad:
        raise ImportFailed([RowProblem(0, "", _("Not a readable CSV file (%(error)s).") % {"error": bad})]) from None
    recorded = already_recorded(kept, errors)
    if errors:
        raise ImportFailed(sorted(errors, key=lambda problem: problem.line))
    result.duplicates += [
        RowProblem(gift.line, report_column(gift), _("Already recorded: skipped."))
        for gift in kept
        if gift.line in recorded
    ]
    result.duplicates.sort(key=lambda problem: problem.line)
    result.gifts = [gift for gift in kept if gift.line not in recorded]
    if not result.gifts and not result.duplicates:
        raise ImportFailed([RowProblem(0, "", _("The file has no rows."))])
    result.unattributed = [
        RowProblem(gift.line, "campaign", _("Outside the campaign's attribution window: not attributed."))
        for gift in result.gifts
        if gift.campaign is not None and not attributable(gift.campaign, gift.donated_at)
    ]
    return result


def sample_csv() -> str:
    """A file staff can fill in: the header and two example rows (with and without a reference)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([column.name for column in GUIDE])
    writer.writerow([column.example for column in GUIDE])
    writer.writerow([column.example_without_reference for column in GUIDE])
    return out.getvalue()


def _subscriber_ids(emails: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(emails), _CHUNK):
        rows = (
            Subscriber.objects.annotate(email_lower=Lower("email"))
            .filter(email_lower__in=emails[start : start + _CHUNK])
            .values_list("email_lower", "pk")
        )
        found.update(rows)
    return found


def import_csv(handle: Iterable[str], *, dry_run: bool = False) -> ImportResult:
    """Check the file, then record every new gift in one transaction (nothing on any bad row)."""
    result = check_csv(handle)
    if dry_run:
        return result
    subscribers = _subscriber_ids(sorted({gift.email for gift in result.gifts}))
    now = timezone.now()
    donations = [
        Donation(
            amount=gift.amount,
            currency=gift.currency,
            donated_at=gift.donated_at,
            donor_email=gift.email,
            donor_name=gift.name,
            subscriber_id=subscribers.get(gift.email),
            recurring=gift.recurring,
            source=Donation.Source.IMPORT,
            provider=gift.provider,
            reference=gift.reference,
            attribution_code=gift.code,
            campaign=gift.campaign if gift.campaign and attributable(gift.campaign, gift.donated_at) else None,
            created_at=now,
        )
        for gift in result.gifts
    ]
    with transaction.atomic():
        before = Donation.objects.count()
        # ignore_conflicts: a webhook may record one of these gifts between the
        # check and this write; its record wins, and the count below says so.
        Donation.objects.bulk_create(donations, batch_size=500, ignore_conflicts=True)
        result.created = Donation.objects.count() - before
    return result
