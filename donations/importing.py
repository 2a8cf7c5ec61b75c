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
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns.models import Campaign
from donations.models import Donation
from donations.services import InvalidDonation, attributable, campaign_for, clean_amount, clean_currency
from subscribers.dates import date_problem
from subscribers.importing import RowProblem  # one shape of CSV problem report for every importer
from subscribers.models import Subscriber, normalize_email
from subscribers.spreadsheets import looks_like_formula
from subscribers.text import text_problem


@dataclass(frozen=True)
class Column:
    """One column of the import file, as the admin's import page and the sample file describe it."""

    name: str
    required: bool
    description: Any  # a lazy translation
    example: str
    example_without_reference: str


# The order of the sample file: one row with a provider's id, one kept by hand without.
GUIDE = (
    Column("email", True, gettext_lazy("The donor's address."), "ana@example.org", "rosa@example.org"),
    Column("amount", True, gettext_lazy("A dot before the cents, no thousands separator: 1234.50."), "25.50", "1000"),
    Column("currency", True, gettext_lazy("An ISO 4217 code: USD, EUR, PEN…"), "USD", "PEN"),
    Column("date", True, gettext_lazy("The day of the gift, as YYYY-MM-DD."), "2026-01-10", "2026-01-11"),
    Column(
        "reference",
        False,
        gettext_lazy(
            "The payment provider's id for the gift. Without one, a gift is told apart by address, amount, "
            "currency and date."
        ),
        "ch_3NkExample",
        "",
    ),
    Column("campaign", False, gettext_lazy("The appeal's id or attribution code."), "", ""),
    Column(
        "recurring", False, gettext_lazy("true for a monthly (or other regular) gift, else false."), "false", "true"
    ),
    Column("name", False, gettext_lazy("The donor's name."), "Ana Quispe", "Rosa Huamán"),
    Column("provider", False, gettext_lazy("Where the money came from: stripe, paypal, bank…"), "stripe", "bank"),
)
REQUIRED = tuple(column.name for column in GUIDE if column.required)
OPTIONAL = tuple(column.name for column in GUIDE if not column.required)
COLUMNS = REQUIRED + OPTIONAL
_TEXT_COLUMNS = ("email", "reference", "campaign", "name", "provider")
_MAX_LENGTH = {"email": 254, "reference": 255, "campaign": 64, "name": 200, "provider": 32}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TRUE = {"true", "yes", "1", "y"}
_FALSE = {"false", "no", "0", "n", ""}
_CHUNK = 900
_validate_email = EmailValidator()


@dataclass(frozen=True)
class ParsedGift:
    line: int
    email: str
    name: str
    amount: Decimal
    currency: str
    donated_on: date
    reference: str
    recurring: bool
    campaign: Campaign | None
    code: str
    provider: str

    @property
    def donated_at(self) -> datetime:
        # Noon local time: a date-only gift stays on its date in every time zone report.
        return timezone.make_aware(datetime.combine(self.donated_on, time(12, 0)))

    @property
    def identity(self) -> Identity:
        return (self.email, self.amount, self.currency, self.donated_on)

    def same_gift(self, other: Donation | ParsedGift) -> bool:
        return self.identity == identity_of(other)


# What tells a gift without a reference apart: address, amount, currency, date.
Identity = tuple[str, Decimal, str, date]


def identity_of(gift: Donation | ParsedGift) -> Identity:
    if isinstance(gift, Donation):
        return (gift.donor_email, gift.amount, gift.currency, timezone.localdate(gift.donated_at))
    return gift.identity


def find_recorded(gift: ParsedGift) -> Donation | None:
    """The recorded gift that ``gift`` is, if any (the rule above; one row at a time, for the admin)."""
    if gift.reference:
        found = Donation.objects.filter(reference=gift.reference).first()
        if found is not None:
            return found
    candidates = Donation.objects.filter(donor_email=gift.email, amount=gift.amount, currency=gift.currency)
    if gift.reference:
        candidates = candidates.filter(reference="")
    return next((donation for donation in candidates if identity_of(donation) == gift.identity), None)


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


class _CampaignCache:
    def __init__(self) -> None:
        self._found: dict[str, Campaign | None] = {}

    def __call__(self, value: str) -> Campaign | None:
        if value not in self._found:
            self._found[value] = campaign_for(value)
        return self._found[value]


def parse_row(line: int, row: dict[str, Any], *, campaigns: Any = campaign_for) -> ParsedGift:
    """One CSV row as a gift, or ``InvalidDonation`` with every problem in it."""
    errors: dict[str, list[str]] = {}
    values: dict[str, str] = {}
    for column in COLUMNS:
        raw = row.get(column)
        values[column] = "" if raw is None else str(raw).strip()
    for column in _TEXT_COLUMNS:
        problem = text_problem(values[column], single_line=True)
        if problem:
            errors.setdefault(column, []).append(problem)
        elif looks_like_formula(values[column]):
            errors.setdefault(column, []).append(_("Looks like a spreadsheet formula: refused."))
        elif len(values[column]) > _MAX_LENGTH[column]:
            errors.setdefault(column, []).append(_("Longer than %(max)d characters.") % {"max": _MAX_LENGTH[column]})
    email = normalize_email(values["email"])
    if "email" not in errors:
        try:
            _validate_email(email)
        except ValidationError:
            errors["email"] = [_("Not a valid email address.")]
    currency = ""
    try:
        currency = clean_currency(values["currency"])
    except InvalidDonation as bad:
        errors.update(bad.errors)
    amount = Decimal(0)
    if not values["amount"]:
        errors["amount"] = [_("Missing.")]
    elif "," in values["amount"]:
        errors["amount"] = [_("Write amounts with a dot and no thousands separator, like 1234.50.")]
    else:
        try:
            amount = clean_amount(values["amount"], currency or "USD")
        except InvalidDonation as bad:
            errors.update(bad.errors)
    donated_on = date.min
    if not _DATE.match(values["date"]):
        errors["date"] = [_("Not a date: write it as YYYY-MM-DD.")]
    else:
        try:
            donated_on = date.fromisoformat(values["date"])
        except ValueError:
            errors["date"] = [_("Not a date: write it as YYYY-MM-DD.")]
        else:
            # One day of slack: the provider's time zone may be ahead of ours.
            if donated_on > timezone.localdate() + timedelta(days=1):
                errors["date"] = [_("In the future.")]
            elif problem := date_problem(donated_on):  # year 1 overflows in time-zone arithmetic
                errors["date"] = [problem]
    recurring = values["recurring"].lower()
    if recurring not in _TRUE | _FALSE:
        errors["recurring"] = [_("Write true or false.")]
    campaign = None
    if values["campaign"] and "campaign" not in errors:
        campaign = campaigns(values["campaign"])
        if campaign is None:
            errors["campaign"] = [_("No campaign with this id or attribution code.")]
    if errors:
        raise InvalidDonation(errors)
    return ParsedGift(
        line=line,
        email=email,
        name=values["name"],
        amount=amount,
        currency=currency,
        donated_on=donated_on,
        reference=values["reference"],
        recurring=recurring in _TRUE,
        campaign=campaign,
        code=campaign.attribution_code if campaign else "",
        provider=values["provider"],
    )


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


def check_csv(handle: Iterable[str]) -> ImportResult:
    """Read and check the whole file without writing; raise ``ImportFailed`` on any bad row."""
    errors: list[RowProblem] = []
    result = ImportResult()
    # The gifts kept so far, found by reference and by identity (for the rows
    # without a reference, and for a referenced row matching one of those).
    by_reference: dict[str, ParsedGift] = {}
    by_identity: dict[Identity, ParsedGift] = {}
    unreferenced_identities: dict[Identity, ParsedGift] = {}
    kept: list[ParsedGift] = []
    campaigns = _CampaignCache()
    try:
        for line, row in _rows(handle):
            if None in row:
                errors.append(RowProblem(line, "", _("More cells than columns.")))
                continue
            try:
                gift = parse_row(line, row, campaigns=campaigns)
            except InvalidDonation as bad:
                errors.extend(RowProblem(line, column, " ".join(msgs)) for column, msgs in bad.errors.items())
                continue
            if gift.reference:
                earlier = by_reference.get(gift.reference)
                if earlier is not None and not earlier.same_gift(gift):
                    errors.append(
                        RowProblem(
                            line,
                            "reference",
                            _("Already used by a different gift on line %(line)d.") % {"line": earlier.line},
                        )
                    )
                    continue
                earlier = earlier or unreferenced_identities.get(gift.identity)
            else:
                earlier = by_identity.get(gift.identity)
            if earlier is not None:
                result.duplicates.append(_same_as_line(gift, earlier))
                continue
            kept.append(gift)
            by_identity.setdefault(gift.identity, gift)
            if gift.reference:
                by_reference[gift.reference] = gift
            else:
                unreferenced_identities[gift.identity] = gift
    except UnicodeDecodeError:
        raise ImportFailed([RowProblem(0, "", _("The file is not UTF-8 text."))]) from None
    except csv.Error as bad:
        raise ImportFailed([RowProblem(0, "", _("Not a readable CSV file (%(error)s).") % {"error": bad})]) from None
    recorded = _already_recorded(kept, errors)
    if errors:
        raise ImportFailed(sorted(errors, key=lambda problem: problem.line))
    for gift in kept:
        if gift.line in recorded:
            result.duplicates.append(RowProblem(gift.line, _column(gift), _("Already recorded: skipped.")))
    result.duplicates.sort(key=lambda problem: problem.line)
    result.gifts = [gift for gift in kept if gift.line not in recorded]
    if not result.gifts and not result.duplicates:
        raise ImportFailed([RowProblem(0, "", _("The file has no rows."))])
    for gift in result.gifts:
        if gift.campaign is not None and not attributable(gift.campaign, gift.donated_at):
            result.unattributed.append(
                RowProblem(gift.line, "campaign", _("Outside the campaign's attribution window: not attributed."))
            )
    return result


def sample_csv() -> str:
    """A file staff can fill in: the header and two example rows (with and without a reference)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([column.name for column in GUIDE])
    writer.writerow([column.example for column in GUIDE])
    writer.writerow([column.example_without_reference for column in GUIDE])
    return out.getvalue()


def _column(gift: ParsedGift) -> str:
    """Where a duplicate report points: the reference, or the row for a gift known by its identity."""
    return "reference" if gift.reference else ""


def _same_as_line(gift: ParsedGift, earlier: ParsedGift) -> RowProblem:
    if gift.reference and gift.reference == earlier.reference:
        return RowProblem(gift.line, "reference", _("Same gift as line %(line)d: skipped.") % {"line": earlier.line})
    return RowProblem(
        gift.line,
        "",
        _("Same gift as line %(line)d (same email, amount, currency and date): skipped.") % {"line": earlier.line},
    )


def _already_recorded(gifts: list[ParsedGift], errors: list[RowProblem]) -> set[int]:
    """The lines of ``gifts`` already in the database (the rule in the module docstring), in few queries.

    A reference recorded for a different gift is added to ``errors``.
    """
    recorded: set[int] = set()
    referenced = {gift.reference: gift for gift in gifts if gift.reference}
    references = list(referenced)
    for start in range(0, len(references), _CHUNK):
        for existing in Donation.objects.filter(reference__in=references[start : start + _CHUNK]):
            gift = referenced[existing.reference]
            if gift.same_gift(existing):
                recorded.add(gift.line)
            else:
                errors.append(
                    RowProblem(
                        gift.line,
                        "reference",
                        _("Already recorded for a different gift (donation #%(id)d).") % {"id": existing.pk},
                    )
                )
    # By identity: a row without a reference against every gift, a row with
    # one against the gifts recorded without.
    unreferenced_only = {gift.email for gift in gifts if gift.reference and gift.line not in recorded}
    if unreferenced_only and not Donation.objects.filter(reference="").exists():
        unreferenced_only = set()  # the usual case: every gift recorded so far has a reference
    identities = _identities(
        anything={gift.email for gift in gifts if not gift.reference}, unreferenced_only=unreferenced_only
    )
    for gift in gifts:
        if gift.identity in identities[not gift.reference]:
            recorded.add(gift.line)
    return recorded


def _identities(*, anything: set[str], unreferenced_only: set[str]) -> dict[bool, set[Identity]]:
    """Identities of recorded gifts: {True: of any gift by ``anything``, False: of those without a reference}."""
    found: dict[bool, set[Identity]] = {True: set(), False: set()}
    for emails, queryset in [
        (sorted(anything), Donation.objects.all()),
        (sorted(unreferenced_only - anything), Donation.objects.filter(reference="")),
    ]:
        for start in range(0, len(emails), _CHUNK):
            rows = queryset.filter(donor_email__in=emails[start : start + _CHUNK]).values_list(
                "donor_email", "amount", "currency", "donated_at", "reference"
            )
            for email, amount, currency, donated_at, reference in rows:
                identity = (email, amount, currency, timezone.localdate(donated_at))
                found[True].add(identity)
                if not reference:
                    found[False].add(identity)
    return found


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
