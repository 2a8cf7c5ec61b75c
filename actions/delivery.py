"""What staff hand over in person: a petition's signatures, and letters to targets that take no email or bounce.

Both come as a CSV (cells a spreadsheet would run as a formula are
neutralised) and as a printable page. A petition goes with each signer's
name, postal code, district and comment, never their email address.
Erased people are left out: only the count remembers them.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from actions.models import Action, Letter, Signature, Target
from subscribers.spreadsheets import neutralise_cell

PETITION_COLUMNS = ("signed_on", "name", "postal_code", "district", "comment")
BY_HAND_COLUMNS = (
    "target",
    "target_title",
    "signed_on",
    "name",
    "postal_code",
    "subject",
    "letter",
    "message",
    "city",
)


def petition_signatures(action: Action) -> list[Signature]:
    return list(
        action.signatures.filter(erased_at__isnull=True).select_related("district").order_by("created_at", "pk")
    )


def write_petition_csv(action: Action, out: Any) -> None:
    writer = csv.writer(out)
    writer.writerow(PETITION_COLUMNS)
    for signature in petition_signatures(action):
        writer.writerow(
            [
                neutralise_cell(value)
                for value in (
                    timezone.localdate(signature.created_at).isoformat(),
                    signature.name,
                    signature.postal_code,
                    signature.district.name if signature.district else "",
                    signature.message,
                )
            ]
        )


@dataclass
class TargetLetters:
    target: Target
    letters: list[Letter] = field(default_factory=list)


def letters_by_hand(action: Action) -> list[TargetLetters]:
    """The letters for targets marked "do not email", grouped by target."""
    grouped: dict[int, TargetLetters] = {}
    letters = (
        Letter.objects.filter(action=action, status=Letter.Status.BY_HAND, signature__erased_at__isnull=True)
        .select_related("target", "signature")
        .order_by("target__name", "target_id", "signature__created_at", "pk")
    )
    for letter in letters:
        grouped.setdefault(letter.target_id, TargetLetters(target=letter.target)).letters.append(letter)
    return list(grouped.values())


def write_by_hand_csv(action: Action, out: Any) -> None:
    writer = csv.writer(out)
    writer.writerow(BY_HAND_COLUMNS)
    for group in letters_by_hand(action):
        for letter in group.letters:
            signature = letter.signature
            writer.writerow(
                [
                    neutralise_cell(value)
                    for value in (
                        group.target.name,
                        group.target.title,
                        timezone.localdate(signature.created_at).isoformat(),
                        signature.name,
                        signature.postal_code,
                        signature.letter_subject,
                        signature.letter_body,
                        signature.message,
                        signature.city,
                    )
                ]
            )
