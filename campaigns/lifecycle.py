"""A campaign's life, in one place: every change of its status happens here.

draft → (review → approved, when ``TOCSIN_REQUIRE_APPROVAL`` is on) →
scheduled or sending → sent, or paused / cancelled. The admin, the API, the
CLI, beat and the workers all call the functions below; nothing else writes
``Campaign.status``. Each change is made under the campaign's row lock and
logged (``AuditLog``, action = the new status). A change that needs the
workers sends ``campaigns.signals.sending_requested``; ``campaigns/tasks.py``
queues the work once the change commits.

Why the approval policy exists: one compromised or careless staff account
must not be able to mail the whole list alone. With it on, the approver must
be someone who did not write or edit the campaign ("four eyes"), and any edit
after submission sends the campaign back to draft, so what was approved is
exactly what goes out.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns import merge_fields, signals
from campaigns.models import AuditLog, Campaign, CampaignTranslation, Delivery

# A campaign's progress (recipients, sent, failed…) is read where it is needed, as lifecycle.campaign_counts too.
from campaigns.progress import BEFORE_SEND as BEFORE_SEND
from campaigns.progress import campaign_counts as campaign_counts
from campaigns.sending import ab_test, batching
from campaigns.staff import audit, notify
from campaigns.staff.roles import can_approve

S = Campaign.Status
DS = Delivery.Status

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
# staff may re-send the deliveries a dead worker left "unknown", which needs
# the workers again. Only ``resend_unknown`` takes this step, so no button or
# API call can wake a sent campaign up by accident.
_REOPEN = {status: ALLOWED[status] | ({S.SENDING} if status == S.SENT else set()) for status in ALLOWED}


class Refused(Exception):
    """The campaign's status, the approval policy or its content does not allow this step; the message says why."""


class TransitionNotAllowed(Refused):
    pass


class ApprovalError(Refused):
    pass


class NeedsApproval(ApprovalError):
    pass


class ApproverIsAuthor(ApprovalError):
    pass


class NothingToResend(Refused):
    pass


class ScheduleInPast(ValueError):
    """A time that has passed: bad input (the API's 400), not a refusal."""


# --- the transition --------------------------------------------------------------------------


def transition(campaign: Campaign, to: str, *, actor: Any = None, reason: str = "") -> Campaign:
    """Move ``campaign`` to status ``to`` under a row lock, and log who did it.

    The lock makes concurrent moves (staff pressing pause while a worker
    finishes) serialise; the loser sees the fresh status and is refused.
    """
    return _transition(campaign, to, allowed=ALLOWED, actor=actor, reason=reason)


def _transition(campaign: Campaign, to: str, *, allowed: dict[str, set[str]], actor: Any, reason: str) -> Campaign:
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if to not in allowed[locked.status]:
            raise TransitionNotAllowed(
                _("A campaign that is %(status)s cannot become %(next)s.")
                % {"status": locked.get_status_display().lower(), "next": S(to).label.lower()}
            )
        now = timezone.now()
        fields = ["status", "status_reason", "updated_at"]
        locked.status, locked.status_reason = to, reason
        if to == S.SENDING and locked.started_at is None:
            locked.started_at = now
            fields.append("started_at")
        if to in (S.SENT, S.CANCELLED):
            locked.finished_at = now
            fields.append("finished_at")
        if to == S.APPROVED:
            locked.approved_by = actor
            fields.append("approved_by")
        if to == S.DRAFT and locked.approved_by_id:
            locked.approved_by = None  # what gets approved next is what is sent
            fields.append("approved_by")
        locked.save(update_fields=fields)
        audit.record(actor=actor, action=str(to), campaign=locked, detail=reason)
        if to == S.SENT:
            signals.campaign_sent.send(sender=Campaign, campaign=locked)
    campaign.refresh_from_db()
    return campaign


def _request_sending(campaign: Campaign, *, fresh: bool) -> None:
    """Ask for the workers (the tasks layer listens, and queues the work after commit)."""
    signals.sending_requested.send(sender=Campaign, campaign=campaign, fresh=fresh)


# --- what blocks a send --------------------------------------------------------------------

# Fields the renderer personalises (True), and the button text, shown as typed (False).
_MERGE_FIELDS = [
    ("subject", gettext_lazy("Subject"), True),
    ("preheader", gettext_lazy("Preheader"), True),
    ("intro_markdown", gettext_lazy("Introduction"), True),
    ("body_markdown", gettext_lazy("Text"), True),
    ("call_to_action_text", gettext_lazy("Button text"), False),
]


def _merge_tag_problems(content: Campaign | CampaignTranslation, *, version: str, kind: str) -> list[str]:
    found = []
    for name, label, fields_allowed in _MERGE_FIELDS:
        if name == "call_to_action_text" and kind == Campaign.Kind.BULLETIN:
            continue  # bulletins have no button: the text is never shown
        for tag in merge_fields.problems(getattr(content, name, ""), fields_allowed=fields_allowed):
            where = _("%(field)s (%(version)s)") % {"field": label, "version": version}
            if fields_allowed:
                message = _(
                    "%(where)s: “%(tag)s” is not a merge field Tocsin knows; readers would get it wrong. "
                    'Use {{ name }} or {{ first_name }}, with |default:"…" if you like.'
                )
            else:
                message = _("%(where)s: “%(tag)s” would be shown as typed: merge fields are not filled in here.")
            found.append(message % {"where": where, "tag": tag})
    return found


def content_problems(campaign: Campaign) -> list[str]:
    """Every problem in the campaign's text that blocks sending, each saying where it is.

    A malformed or unknown merge tag blocks because readers would get it
    wrong: ``{{ name }`` and ``*|FNAME|*`` arrive as typed, ``{{ nmae }}``
    silently disappears (``campaigns.merge_fields`` is the syntax the
    renderer fills in). The pre-send checklist shows these first.
    """
    names = dict(settings.LANGUAGES)
    main = _("%(language)s, main version") % {"language": names.get(campaign.language, campaign.language)}
    found = _merge_tag_problems(campaign, version=main, kind=campaign.kind)
    for translation in campaign.translations.order_by("language"):
        version = _("%(language)s translation") % {"language": names.get(translation.language, translation.language)}
        found.extend(_merge_tag_problems(translation, version=version, kind=campaign.kind))
    return found + ab_test.subject_problems(campaign)


def approval_required() -> bool:
    return bool(settings.TOCSIN_REQUIRE_APPROVAL)


def approval_missing(campaign: Campaign) -> str | None:
    """Why the approval policy does not let the campaign be scheduled or sent yet, or None."""
    if not approval_required() or campaign.status not in BEFORE_SEND:
        return None  # past the gate, the transition table decides
    if campaign.status == S.APPROVED or (campaign.status == S.SCHEDULED and campaign.approved_by_id):
        return None
    if campaign.status == S.REVIEW:
        return _("This campaign is waiting for review: someone other than its author must approve it first.")
    return _(
        "Approval is required (TOCSIN_REQUIRE_APPROVAL): submit this campaign for review, "
        "then someone other than its author must approve it."
    )


def _content_blocked(campaign: Campaign) -> str | None:
    found = content_problems(campaign)
    if not found:
        return None
    return " ".join([_("This campaign cannot be sent until this is fixed:"), *found])


# --- approval ----------------------------------------------------------------------------------


def authors(campaign: Campaign) -> set[int]:
    """Everyone who wrote or edited the campaign: none of them may approve it."""
    ids = set(
        AuditLog.objects.filter(
            campaign=campaign, action__in=[audit.CREATED, audit.EDITED], actor__isnull=False
        ).values_list("actor_id", flat=True)
    )
    if campaign.created_by_id:
        ids.add(campaign.created_by_id)
    return ids


def approve_blocked_reason(campaign: Campaign, *, actor: Any) -> str | None:
    if not can_approve(actor):
        return _("You do not have permission to approve campaigns.")
    if campaign.status != S.REVIEW:
        return _("Only a campaign in review can be approved.")
    if actor.pk in authors(campaign):
        return _("You wrote or edited this campaign: someone else must approve it.")
    return None


def submit_for_review(*, campaign: Campaign, actor: Any) -> Campaign:
    return transition(campaign, S.REVIEW, actor=actor)


def approve(*, campaign: Campaign, actor: Any) -> Campaign:
    reason = approve_blocked_reason(campaign, actor=actor)
    if reason:
        raise ApproverIsAuthor(reason) if actor.pk in authors(campaign) else ApprovalError(reason)
    return transition(campaign, S.APPROVED, actor=actor)


def return_to_draft(*, campaign: Campaign, actor: Any, reason: str = "") -> Campaign:
    """Back to draft from review, approved or scheduled: any approval is voided."""
    return transition(campaign, S.DRAFT, actor=actor, reason=reason)


def after_edit(*, campaign: Campaign, actor: Any) -> bool:
    """An edit after submission or approval must be reviewed again. True if the campaign went back to draft."""
    voidable = {S.REVIEW, S.APPROVED, *([S.SCHEDULED] if approval_required() else [])}
    campaign.refresh_from_db(fields=["status", "approved_by"])
    if campaign.status not in voidable:
        return False
    return_to_draft(campaign=campaign, actor=actor, reason=_("edited after submission: needs approval again"))
    return True


# --- staff: send, schedule, pause, resume, cancel, re-send ------------------------------------


def start(*, campaign: Campaign, actor: Any, at: datetime | None = None) -> Campaign:
    """Send now, or at ``at`` (beat starts it within ``TOCSIN_SEND_SWEEP_SECONDS``: ``begin_scheduled``)."""
    if at is not None:
        at = timezone.make_aware(at) if timezone.is_naive(at) else at
        if at <= timezone.now():
            raise ScheduleInPast(_("That time is in the past."))
    approval = approval_missing(campaign)
    if approval:
        raise NeedsApproval(approval)
    if campaign.status not in (S.DRAFT, S.APPROVED, S.SCHEDULED):
        raise TransitionNotAllowed(
            _("A campaign that is %(status)s cannot be sent or scheduled.")
            % {"status": campaign.get_status_display().lower()}
        )
    blocked = _content_blocked(campaign)
    if blocked:
        raise Refused(blocked)
    with transaction.atomic():
        if at is None:
            transition(campaign, S.SENDING, actor=actor)
            _request_sending(campaign, fresh=True)
            return campaign
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        Campaign.objects.filter(pk=campaign.pk).update(scheduled_at=at)
        if locked.status == S.SCHEDULED:
            audit.record(actor=actor, action="rescheduled", campaign=locked, detail=at.isoformat())
        else:
            transition(locked, S.SCHEDULED, actor=actor, reason=f"for {at.isoformat()}")
    campaign.refresh_from_db()
    return campaign


def pause(*, campaign: Campaign, actor: Any, reason: str = "") -> Campaign:
    """Stop sending within a second or two; the message in flight on each connection still lands."""
    return transition(campaign, S.PAUSED, actor=actor, reason=reason or _("Paused by staff."))


def resume(*, campaign: Campaign, actor: Any, reason: str = "") -> Campaign:
    with transaction.atomic():
        transition(campaign, S.SENDING, actor=actor, reason=reason)
        _request_sending(campaign, fresh=False)
    return campaign


def cancel(*, campaign: Campaign, actor: Any, reason: str = "") -> Campaign:
    """Stop for good; deliveries not yet sent stay ``queued`` (never sent) in the ledger."""
    return transition(campaign, S.CANCELLED, actor=actor, reason=reason or _("Cancelled by staff."))


def resend_unknown(*, campaign: Campaign, actor: Any) -> Campaign:
    """Staff decided: send again to the recipients a dead worker left in doubt (they may get it twice)."""
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        ids = list(Delivery.objects.filter(campaign=locked, status=DS.UNKNOWN).values_list("id", flat=True))
        if not ids:
            raise NothingToResend(_("No recipient of this campaign is in doubt."))
        if locked.status not in (S.SENT, S.SENDING, S.PAUSED):
            raise TransitionNotAllowed(
                _("A campaign that is %(status)s cannot send again.") % {"status": locked.get_status_display().lower()}
            )
        if locked.status == S.SENT:
            _transition(locked, S.SENDING, allowed=_REOPEN, actor=actor, reason=_("Re-sending to recipients in doubt."))
        Delivery.objects.filter(pk__in=ids, status=DS.UNKNOWN).update(
            status=DS.QUEUED, claimed_at=None, error="re-sent by staff"
        )
        batching.cut_batches(locked, ids=ids)
        audit.record(actor=actor, action="resend_unknown", campaign=locked, detail=str(len(ids)))
        _request_sending(locked, fresh=False)
    campaign.refresh_from_db()
    return campaign


# --- beat and the workers -----------------------------------------------------------------------


def begin_scheduled(*, campaign: Campaign) -> bool:
    """Start a scheduled campaign whose time has come; True if this call started it (two beats: once)."""
    blocked = _content_blocked(campaign)
    if blocked:
        # Edited after it was scheduled: staff fix it and schedule again.
        reason = f"{_('Not sent at its scheduled time.')} {blocked}"
        with contextlib.suppress(TransitionNotAllowed):
            transition(campaign, S.DRAFT, reason=reason[:300])
        return False
    try:
        with transaction.atomic():
            transition(campaign, S.SENDING, reason=_("Scheduled send."))
            _request_sending(campaign, fresh=True)
    except TransitionNotAllowed:
        return False  # the other beat, or staff, got there first
    return True


def mark_sent(*, campaign: Campaign) -> bool:
    """Sending → sent once nothing is left; False when another process finished it first, or staff paused it."""
    try:
        transition(campaign, S.SENT)
    except TransitionNotAllowed:
        return False
    return True


def pause_after_failures(*, campaign_id: int, reason: str) -> None:
    """A worker gives up after failures in a row; staff may have paused or cancelled it meanwhile."""
    with contextlib.suppress(TransitionNotAllowed):
        transition(Campaign(pk=campaign_id), S.PAUSED, reason=reason[:300])


def pause_by_breaker(*, campaign: Campaign, reason: str) -> None:
    """An A/B test's sample tripped the circuit breaker: pause before the rest gets it, and tell staff."""
    with contextlib.suppress(TransitionNotAllowed):  # staff paused or cancelled it meanwhile: they know
        transition(campaign, S.PAUSED, reason=reason[:300])
        notify.tell_staff(campaign=campaign, about=notify.BREAKER, detail=reason)


# --- where a send stands -----------------------------------------------------------------------
