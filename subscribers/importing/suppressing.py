"""Applying a suppression list: the same services as a bounce webhook or an unsubscribe.

Each address goes through ``services.suppress`` (the suppression, with the
file, line, date and importer as its evidence, and a consent row for a
subscriber), and an existing subscriber through ``services.unsubscribe``
(off every list, with the signals journeys and campaigns listen to). An
address nobody subscribed with stays a suppression only: an import never
creates a subscriber. A second import of the same file changes nothing.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from subscribers.importing.rows import RowProblem
from subscribers.importing.suppression_file import SuppressionFile, SuppressionRow
from subscribers.models import Consent, Subscriber, Subscription, Suppression, email_hash
from subscribers.services.leaving import SubscriberErased, suppress, unsubscribe

_CHANNEL = {
    Suppression.Reason.UNSUBSCRIBED: Consent.Channel.STAFF,
    Suppression.Reason.BOUNCED: Consent.Channel.BOUNCE,
    Suppression.Reason.COMPLAINED: Consent.Channel.COMPLAINT,
}
_MAILABLE = {Subscriber.Status.PENDING, Subscriber.Status.CONFIRMED}
_BATCH = 2000


@dataclass
class SuppressionResult:
    kind: str
    dry_run: bool
    rows: int = 0
    suppressed: int = 0
    left: int = 0
    already: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    duplicates: list[RowProblem] = field(default_factory=list)
    # What the preview lists: (line, address, reason, what happens).
    outcomes: list[tuple[int, str, str, str]] = field(default_factory=list)

    def summary(self) -> str:
        text = _(
            "Rows: %(rows)d (%(kind)s). Newly suppressed: %(new)d. Subscribers taken off every list: %(left)d. "
            "Already suppressed: %(already)d. Bad rows skipped: %(bad)d."
        ) % {
            "rows": self.rows,
            "kind": self.kind,
            "new": self.suppressed,
            "left": self.left,
            "already": self.already,
            "bad": len(self.problems),
        }
        return _("Dry run, nothing written: %(summary)s") % {"summary": text} if self.dry_run else text


def _batches(rows: list[SuppressionRow]) -> Any:
    for start in range(0, len(rows), _BATCH):
        yield rows[start : start + _BATCH]


def _state(rows: list[SuppressionRow]) -> tuple[set[str], dict[str, Subscriber], set[int]]:
    """Which addresses are suppressed already, who subscribed, who is still on a list."""
    suppressed: set[str] = set()
    people: dict[str, Subscriber] = {}
    for batch in _batches(rows):
        hashes = [email_hash(row.email) for row in batch]
        suppressed.update(Suppression.objects.filter(email_hash__in=hashes).values_list("email_hash", flat=True))
        found = Subscriber.objects.filter(email__in=[row.email for row in batch]).exclude(
            status=Subscriber.Status.ERASED
        )
        people.update((person.email, person) for person in found)
    on_a_list = set(
        Subscription.objects.filter(
            subscriber__in=[person.pk for person in people.values()], status=Subscription.Status.ACTIVE
        ).values_list("subscriber_id", flat=True)
    )
    return suppressed, people, on_a_list


def _apply(row: SuppressionRow, person: Subscriber | None, *, filename: str, actor: Any) -> None:
    where = _("%(file)s, line %(line)d") % {"file": filename, "line": row.line}
    detail = f"{where}: {row.note}" if row.note else where
    with transaction.atomic():
        suppress(
            email=row.email,
            reason=row.reason,
            detail=detail,
            source=Consent.Source.IMPORT,
            origin=_("Import: %(where)s") % {"where": where},
            actor=actor,
            occurred_at=row.occurred_at,
        )
        if person is not None:
            with contextlib.suppress(SubscriberErased):  # erased meanwhile: nobody left to unsubscribe
                unsubscribe(
                    subscriber=person,
                    channel=_CHANNEL[row.reason],
                    actor=actor,
                    requested_at=row.occurred_at,
                    source=Consent.Source.IMPORT,
                    detail=detail,
                )


def apply_suppressions(
    parsed: SuppressionFile, *, filename: str, actor: Any = None, dry_run: bool = False
) -> SuppressionResult:
    """Suppress every row of ``parsed``; with ``dry_run``, only say what would happen."""
    result = SuppressionResult(
        kind=parsed.kind,
        dry_run=dry_run,
        rows=len(parsed.rows) + len(parsed.problems) + len(parsed.duplicates),
        problems=list(parsed.problems),
        duplicates=list(parsed.duplicates),
    )
    suppressed, people, on_a_list = _state(parsed.rows)
    for row in parsed.rows:
        person = people.get(row.email)
        leaves = person is not None and (person.status in _MAILABLE or person.pk in on_a_list)
        known = email_hash(row.email) in suppressed
        if known and not leaves:
            result.already += 1
            result.outcomes.append((row.line, row.email, str(row.reason.label), _("already suppressed")))
            continue
        result.suppressed += not known
        result.left += leaves
        if leaves:
            outcome = _("subscriber: taken off every list")
        else:
            outcome = _("suppressed") if person is not None else _("suppressed (not a subscriber)")
        result.outcomes.append((row.line, row.email, str(row.reason.label), outcome))
        if not dry_run:
            _apply(row, person, filename=filename, actor=actor)
    return result
