"""Actions themselves: creating one, and its draft → open → closed (→ open again)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from actions.models import Action, Target, TargetGroup
from actions.services.cleaning import InvalidSignature
from subscribers.models import MailingList

S = Action.Status


class InvalidAction(InvalidSignature):
    """An action that cannot be created as asked: every problem, by field."""


class TransitionNotAllowed(Exception):
    """The action's status does not allow that step."""


# --- status --------------------------------------------------------------------------------

ALLOWED: dict[str, set[str]] = {
    S.DRAFT: {S.OPEN},
    S.OPEN: {S.CLOSED},
    S.CLOSED: {S.OPEN},
}


def change_status(*, action: Action, to: str) -> Action:
    """Move ``action`` to ``to`` under a row lock; TransitionNotAllowed when its status does not allow it."""
    with transaction.atomic():
        locked = Action.objects.select_for_update().get(pk=action.pk)
        if to not in ALLOWED.get(locked.status, set()):
            raise TransitionNotAllowed(
                _("An action that is %(status)s cannot become %(to)s.")
                % {"status": locked.get_status_display(), "to": S(to).label if to in S.values else to}
            )
        now = timezone.now()
        locked.status = to
        fields = ["status", "updated_at"]
        if to == S.OPEN:
            locked.opened_at = locked.opened_at or now
            locked.closed_at = None
            # Test mode ends when the action opens: from now on letters reach the targets.
            locked.test_mode = False
            fields += ["opened_at", "closed_at", "test_mode"]
        elif to == S.CLOSED:
            locked.closed_at = now
            fields.append("closed_at")
        locked.save(update_fields=fields)
    action.refresh_from_db()
    return action


# --- creating ------------------------------------------------------------------------------


def check_letter_setup(
    *,
    kind: str,
    letter_subject: str,
    letter_body: str,
    target_group: TargetGroup | None,
    by_district: bool,
    has_fixed_targets: bool,
) -> dict[str, list[str]]:
    """What a letter action lacks before anyone can sign it (empty for petitions)."""
    errors: dict[str, list[str]] = {}
    if kind != Action.Kind.LETTER:
        return errors
    if not letter_subject.strip():
        errors["letter.subject"] = [_("A letter needs a subject.")]
    if not letter_body.strip():
        errors["letter.body"] = [_("A letter needs a text.")]
    if target_group is None and not by_district and not has_fixed_targets:
        errors["targets"] = [_("Say who the letter goes to: a group, by district, or fixed targets.")]
    return errors


def create_action(
    *,
    kind: str,
    slug: str,
    title: str,
    body_markdown: str = "",
    goal: int | None = None,
    lists: Sequence[MailingList] = (),
    letter_subject: str = "",
    letter_body: str = "",
    edit_policy: str = Action.EditPolicy.PARAGRAPH,
    edit_limit: int = 1500,
    target_group: TargetGroup | None = None,
    by_district: bool = False,
    targets: Sequence[Target] = (),
    status: str = S.OPEN,
    share_image_url: str = "",
    actor: Any = None,
    delivery_mode: str = Action.DeliveryMode.EACH,
    digest_hour: int = 17,
    daily_cap: int | None = None,
    test_mode: bool | None = None,
    test_email: str = "",
) -> Action:
    """A new action, open at once unless ``status`` is draft; InvalidAction lists what is wrong."""
    errors = check_letter_setup(
        kind=kind,
        letter_subject=letter_subject,
        letter_body=letter_body,
        target_group=target_group,
        by_district=by_district,
        has_fixed_targets=bool(targets),
    )
    if Action.objects.filter(slug=slug).exists():
        errors.setdefault("slug", []).append(_("An action with this address already exists."))
    if errors:
        raise InvalidAction(errors)
    now = timezone.now()
    try:
        with transaction.atomic():
            action = Action.objects.create(
                kind=kind,
                slug=slug,
                title=title,
                body_markdown=body_markdown,
                goal=goal,
                letter_subject=letter_subject,
                letter_body=letter_body,
                edit_policy=edit_policy,
                edit_limit=edit_limit,
                target_group=target_group,
                by_district=by_district,
                status=status,
                # A draft starts in test mode unless told otherwise: letters signed before it opens go to the
                # creator (or the test address), not the targets.
                test_mode=status == S.DRAFT if test_mode is None else test_mode,
                test_email=test_email,
                delivery_mode=delivery_mode,
                digest_hour=digest_hour,
                daily_cap=daily_cap,
                opened_at=now if status == S.OPEN else None,
                share_image_url=share_image_url,
                created_by=actor if getattr(actor, "pk", None) else None,
            )
            action.lists.set(lists)
            action.targets.set(targets)
    except IntegrityError:
        # Another request took the slug between the check and the insert.
        raise InvalidAction({"slug": [_("An action with this address already exists.")]}) from None
    return action
