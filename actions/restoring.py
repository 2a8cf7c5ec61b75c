"""After a database restore: letters the restored ledger calls pending are held for staff (campaigns/restoring.py).

A letter (or a day's digest) sent after the backup was taken is ``pending``
again in the restored database, and the sweeper would send it a second time
to a decision-maker. Actions have no pause, and closing one would stop
signatures, so each pending letter and digest becomes ``failed`` with the
reason: the action's page already counts failed letters per target and has
"Retry failed" (per target, or all), which sends them anyway. Letters caught
in ``sending`` become ``unknown``, as after a dead worker. Nothing pending is
left, so a second run finds nothing.
"""

from __future__ import annotations

from django.db.models import Count

from actions.ledger import Letter, LetterDigest, LetterStatus
from actions.models import Action
from campaigns.restoring import Held

L = LetterStatus
HELD_REASON = "held: restored from a backup, it may already have been sent; retry to send it anyway"
IN_DOUBT = "in flight when the backup was taken: restored from a backup"


def is_held(letter: Letter) -> bool:
    return letter.status == L.FAILED and letter.error == HELD_REASON


def held_count(action: Action) -> int:
    """Letters of ``action`` held by a restore and not retried yet (the action's page says so)."""
    return Letter.objects.filter(action=action, status=L.FAILED, error=HELD_REASON).count()


def hold_letters() -> Held:
    held = Held()
    per_action = dict(
        Letter.objects.filter(status__in=[L.PENDING, L.SENDING])
        .values_list("action_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    if not per_action:
        return held
    LetterDigest.objects.filter(status=L.SENDING).update(status=L.UNKNOWN, error=IN_DOUBT)
    LetterDigest.objects.filter(status=L.PENDING).update(status=L.FAILED, error=HELD_REASON, lease_until=None)
    unknown = Letter.objects.filter(status=L.SENDING).update(status=L.UNKNOWN, error=IN_DOUBT, lease_until=None)
    failed = Letter.objects.filter(status=L.PENDING).update(status=L.FAILED, error=HELD_REASON, lease_until=None)
    for action in Action.objects.filter(pk__in=per_action).order_by("id"):
        held.lines.append(f"held {per_action[action.pk]} letter(s) of action “{action.slug}” (pending or in flight)")
    held.totals.append(f"{failed} letter(s) held, {unknown} letter(s) in flight marked unknown")
    held.next_steps.append(
        "Actions (admin → Actions): each action named above says how many letters were held; “Retry failed” "
        "sends them (a target may get a letter twice), or leave them."
    )
    return held
