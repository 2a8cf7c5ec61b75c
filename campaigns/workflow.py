"""Every allowed change of a campaign's status, in one place.

Views, the API, the admin and the sending engine all move campaigns through
``transition``; nothing else writes ``Campaign.status``.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from campaigns.models import AuditLog, Campaign

S = Campaign.Status

ALLOWED: dict[str, set[str]] = {
    S.DRAFT: {S.REVIEW, S.SCHEDULED, S.SENDING, S.CANCELLED},
    S.REVIEW: {S.DRAFT, S.APPROVED, S.CANCELLED},
    S.APPROVED: {S.DRAFT, S.SCHEDULED, S.SENDING, S.CANCELLED},
    S.SCHEDULED: {S.DRAFT, S.SENDING, S.CANCELLED},
    S.SENDING: {S.PAUSED, S.SENT, S.CANCELLED},
    S.PAUSED: {S.SENDING, S.CANCELLED},
    S.SENT: set(),
    S.CANCELLED: set(),
}

# A sent campaign is finished for every ordinary action, with one exception:
# staff may decide to re-send the deliveries a dead worker left "unknown",
# which needs the engine again. Only ``reopen_for_resend`` (called by
# ``control.resend_unknown``) may take this step, so no button or API call
# can wake a sent campaign up by accident.
REOPEN: dict[str, set[str]] = {S.SENT: {S.SENDING}}


class TransitionNotAllowed(Exception):
    """The campaign's current status does not allow that step; the message says why."""


def can_transition(campaign: Campaign, to: str) -> bool:
    return to in ALLOWED.get(campaign.status, set())


def transition(campaign: Campaign, to: str, *, actor=None, reason: str = "") -> Campaign:  # type: ignore[no-untyped-def]
    """Move ``campaign`` to status ``to`` under a row lock, and log who did it.

    The lock makes concurrent moves (staff pressing pause while the engine
    finishes) serialise; the loser sees the fresh status and is refused.
    """
    return _transition(campaign, to, allowed=ALLOWED, actor=actor, reason=reason)


def reopen_for_resend(campaign: Campaign, *, actor=None, reason: str = "") -> Campaign:  # type: ignore[no-untyped-def]
    """Sent → sending, for re-sending unknown deliveries only (see ``REOPEN``); other statuses as ``transition``."""
    allowed = {status: ALLOWED.get(status, set()) | REOPEN.get(status, set()) for status in S.values}
    return _transition(campaign, S.SENDING, allowed=allowed, actor=actor, reason=reason)


def _transition(campaign: Campaign, to: str, *, allowed: dict[str, set[str]], actor=None, reason: str = "") -> Campaign:  # type: ignore[no-untyped-def]
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if to not in allowed.get(locked.status, set()):
            raise TransitionNotAllowed(
                f"a campaign that is {locked.get_status_display().lower()} cannot become {S(to).label.lower()}"
            )
        now = timezone.now()
        fields = ["status", "status_reason", "updated_at"]
        locked.status = to
        locked.status_reason = reason
        if to == S.SENDING and locked.started_at is None:
            locked.started_at = now
            fields.append("started_at")
        if to in (S.SENT, S.CANCELLED):
            locked.finished_at = now
            fields.append("finished_at")
        if to == S.APPROVED and actor is not None:
            locked.approved_by = actor
            fields.append("approved_by")
        locked.save(update_fields=fields)
        AuditLog.objects.create(
            actor=actor if getattr(actor, "pk", None) else None,
            action=str(to),
            campaign=locked,
            detail=reason,
        )
    campaign.refresh_from_db()
    return campaign
