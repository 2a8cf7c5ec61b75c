"""The approval policy (``TOCSIN_REQUIRE_APPROVAL``).

Why an organisation turns it on: one compromised or careless staff account
must not be able to mail the whole list alone. With the setting on, a
campaign goes draft → review → approved before it can be scheduled or sent,
and the approver must be someone who did not write or edit it ("four eyes").
Any edit after submission sends the campaign back to draft, so what was
approved is exactly what goes out.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from campaigns.models import AuditLog, Campaign
from campaigns.staff import audit
from campaigns.staff.roles import can_approve
from campaigns.workflow import transition

S = Campaign.Status


class ApprovalError(Exception):
    """The approval policy refuses this step; the message says why."""


class NeedsApproval(ApprovalError):
    pass


class ApproverIsAuthor(ApprovalError):
    pass


def approval_required() -> bool:
    return bool(settings.TOCSIN_REQUIRE_APPROVAL)


def send_blocked_reason(campaign: Campaign) -> str | None:
    """Why the campaign may not be scheduled or sent yet, or None."""
    if not approval_required():
        return None
    if campaign.status == S.APPROVED or (campaign.status == S.SCHEDULED and campaign.approved_by_id):
        return None
    if campaign.status in (S.SENDING, S.PAUSED, S.SENT, S.CANCELLED):
        return None  # past the gate: the state machine decides what is allowed
    if campaign.status == S.REVIEW:
        return _("This campaign is waiting for review: someone other than its author must approve it first.")
    return _(
        "Approval is required (TOCSIN_REQUIRE_APPROVAL): submit this campaign for review, "
        "then someone other than its author must approve it."
    )


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


def submit_for_review(campaign: Campaign, *, actor: Any) -> Campaign:
    return transition(campaign, S.REVIEW, actor=actor)


def approve(campaign: Campaign, *, actor: Any) -> Campaign:
    reason = approve_blocked_reason(campaign, actor=actor)
    if reason:
        raise ApproverIsAuthor(reason) if actor.pk in authors(campaign) else ApprovalError(reason)
    return transition(campaign, S.APPROVED, actor=actor)


def return_to_draft(campaign: Campaign, *, actor: Any, reason: str = "") -> Campaign:
    campaign = transition(campaign, S.DRAFT, actor=actor, reason=reason)
    if campaign.approved_by_id:
        Campaign.objects.filter(pk=campaign.pk).update(approved_by=None)
        campaign.approved_by = None
    return campaign


def void_approval_after_edit(campaign: Campaign, *, actor: Any) -> bool:
    """An edit after submission or approval must be reviewed again. True if it was voided."""
    voidable = {S.REVIEW, S.APPROVED}
    if approval_required():
        voidable.add(S.SCHEDULED)
    campaign.refresh_from_db(fields=["status", "approved_by"])
    if campaign.status not in voidable:
        return False
    return_to_draft(campaign, actor=actor, reason=_("edited after submission: needs approval again"))
    return True
