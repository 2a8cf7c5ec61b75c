"""A test digest: what one target's daily digest of an action will look like, sent to staff only.

Built by the real digests' builder (``messages.digest_message``) from the
letters now waiting for that target (the ones its next digest would carry, at
most the daily cap), else from three sample letters; ``[TEST]`` in the subject.
It reads the ledger and writes nothing to it: no letter is claimed, marked
sent or attached to a digest, and no ``LetterDigest`` is written. It goes
through the configured email backend directly, as campaigns' test sends do
(``campaigns/services/proofs.py``): no VERP envelope, so a bounce of a test
never flags a target.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import translation
from django.utils.translation import gettext as _

from actions.ledger import Letter, LetterStatus
from actions.models import Action, Target
from actions.sending import letters, messages

# How many targets the admin page offers (those with letters waiting first); any other target
# of the action is still accepted by id.
CHOICES = 100
_SAMPLE_PEOPLE = (
    ("Ana Quispe", "ana.quispe@example.org", "K1A 0B1"),
    ("Jean Tremblay", "jean.tremblay@example.org", "K2B 7X1"),
    ("María López", "maria.lopez@example.org", "K2B 9Z9"),
)


class NotATarget(Exception):
    """The target asked for is none of this action's."""


@dataclass(frozen=True)
class TestDigest:
    to: str
    target: messages.Recipient
    letters: int
    sample_letters: bool


def _of_action(action: Action) -> QuerySet[Target]:
    """The action's targets: its fixed ones, and those its letters went or go to."""
    fixed = action.targets.values("pk")
    return Target.objects.filter(Q(pk__in=fixed) | Q(letters__action=action)).distinct()


def _waiting(action: Action) -> Q:
    return Q(
        letters__action=action,
        letters__status=LetterStatus.PENDING,
        letters__digest__isnull=True,
        letters__test_to="",
    )


def target_choices(action: Action) -> list[tuple[int, str, int]]:
    """(id, name, letters waiting) for the admin page's list: those with letters waiting first."""
    rows = (
        _of_action(action)
        .annotate(waiting=Count("letters", filter=_waiting(action)))
        .order_by("-waiting", "name", "pk")
        .values_list("pk", "name", "waiting")[:CHOICES]
    )
    return [(int(pk), str(name), int(waiting)) for pk, name, waiting in rows]


def _target(action: Action, target_id: int | None) -> Target | None:
    if target_id is None:
        choices = target_choices(action)
        return Target.objects.filter(pk=choices[0][0]).first() if choices else None
    found = _of_action(action).filter(pk=target_id).first()
    if found is None:
        raise NotATarget(target_id)
    return found


def _waiting_supporters(action: Action, target: Target) -> list[messages.Supporter]:
    rows = (
        Letter.objects.filter(
            action=action,
            target=target,
            status=LetterStatus.PENDING,
            digest__isnull=True,
            test_to="",
            signature__erased_at__isnull=True,
        )
        .order_by("id")
        .values(*letters.FIELDS)
    )
    if action.daily_cap:
        rows = rows[: action.daily_cap]
    return [letters.supporter_of(row) for row in rows]


def sample_supporters(action: Action) -> list[messages.Supporter]:
    """Three made-up supporters: two send the letter as written, one adds a paragraph."""
    own_words = _("A sample paragraph: here a supporter says in their own words why this matters to them.")
    return [
        messages.Supporter(
            name=name,
            email=email,
            postal_code=postal_code,
            place="",
            message=own_words if index == 2 else "",
            subject=action.letter_subject,
            body=action.letter_body,
        )
        for index, (name, email, postal_code) in enumerate(_SAMPLE_PEOPLE)
    ]


def send_test_digest(*, action: Action, target_id: int | None, to: str) -> TestDigest:
    """Send ``to`` (a staff address the caller chose) a sample of ``target_id``'s digest; NotATarget otherwise."""
    target = _target(action, target_id)
    supporters = _waiting_supporters(action, target) if target is not None else []
    sample = not supporters
    # The made-up parts in the language the digest is written in: the target's.
    with translation.override(messages.language_for(target.language if target is not None else "")):
        if sample:
            supporters = sample_supporters(action)
        recipient = (
            messages.Recipient(target.name, target.email, target.language)
            if target is not None
            else messages.Recipient(_("A sample target"), "target@example.org")
        )
    message: Any = messages.digest_message(
        digest_id=action.pk,
        action_title=action.title,
        target=recipient,
        supporters=supporters,
        test_to=to,
        sample_letters=sample,
    )
    message.send()
    return TestDigest(to=to, target=recipient, letters=len(supporters), sample_letters=sample)
