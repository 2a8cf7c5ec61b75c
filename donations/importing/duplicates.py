"""Gifts already recorded, or twice in the file (the rule in ``donations.importing``'s docstring)."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

from donations.importing.rows import Identity, ParsedGift, identity_of
from donations.models import Donation
from subscribers.importing import RowProblem  # one shape of CSV problem report for every importer

_CHUNK = 900


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


def report_column(gift: ParsedGift) -> str:
    """Where a duplicate report points: the reference, or the row for a gift known by its identity."""
    return "reference" if gift.reference else ""


def same_as_line(gift: ParsedGift, earlier: ParsedGift) -> RowProblem:
    if gift.reference and gift.reference == earlier.reference:
        return RowProblem(gift.line, "reference", _("Same gift as line %(line)d: skipped.") % {"line": earlier.line})
    return RowProblem(
        gift.line,
        "",
        _("Same gift as line %(line)d (same email, amount, currency and date): skipped.") % {"line": earlier.line},
    )


def already_recorded(gifts: list[ParsedGift], errors: list[RowProblem]) -> set[int]:
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
