"""The panel above the campaign form: status, the next steps this person may take, counts, checks, history."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.text import get_text_list
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns import checklist, lifecycle
from campaigns.models import AuditLog, Campaign
from campaigns.reports.ab_tests import ab_test_report
from campaigns.services import proofs
from campaigns.staff.roles import can_approve, can_send

S = Campaign.Status
# Once sending has started, what was sent is history: nothing is edited.
LOCKED = {S.SENDING, S.PAUSED, S.SENT, S.CANCELLED}
LIVE = {S.SCHEDULED, S.SENDING, S.PAUSED}


def org_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def versions(campaign: Campaign) -> list[tuple[str, str]]:
    """(code, name) of the campaign's main language, then of each translation."""
    names = dict(settings.LANGUAGES)
    codes = [campaign.language, *campaign.translations.values_list("language", flat=True)]
    return [(code, str(names.get(code, code))) for code in codes]


def _approval_steps(campaign: Campaign, user: Any, *, may_change: bool) -> list[tuple[str, str, str]]:
    status = campaign.status
    steps = []
    if status == S.DRAFT and may_change and lifecycle.approval_required():
        steps.append(("submit", _("Submit for review"), "default"))
    if status == S.REVIEW and can_approve(user):
        blocked = lifecycle.approve_blocked_reason(campaign, actor=user)
        steps.append(("approve", _("Approve"), "default" if not blocked else "disabled"))
    if status in (S.REVIEW, S.APPROVED) and may_change:
        steps.append(("draft", _("Back to draft"), ""))
    return steps


# (step, label, button style) offered to senders, by status.
_SENDER_STEPS: dict[str, list[tuple[str, Any, str]]] = {
    S.SCHEDULED: [("draft", gettext_lazy("Unschedule"), "")],
    S.SENDING: [("pause", gettext_lazy("Pause"), "")],
    S.PAUSED: [("resume", gettext_lazy("Resume"), "default")],
}


def _sending_steps(campaign: Campaign, user: Any, *, may_change: bool, unknown: int) -> list[tuple[str, str, str]]:
    if not can_send(user):
        steps = []
    else:
        steps = [(step, str(label), style) for step, label, style in _SENDER_STEPS.get(campaign.status, [])]
        if campaign.status in (S.REVIEW, S.APPROVED, S.SCHEDULED, S.SENDING, S.PAUSED):
            steps.append(("cancel", _("Cancel campaign"), "danger"))
    if campaign.status in LOCKED:
        # Changeable after sending: the form's field is locked with the rest.
        if campaign.in_public_archive and (can_send(user) or may_change):
            steps.append(("unpublish", _("Remove from the public archive"), ""))
        elif not campaign.in_public_archive and can_send(user):
            steps.append(("publish", _("Show in the public archive"), ""))
    if unknown and campaign.status in (S.SENT, S.PAUSED) and can_send(user):
        steps.append(("resend_unknown", _("Re-send the unknown ones"), ""))
    return steps


def report_links(request: HttpRequest, campaign: Campaign, *, started: bool) -> list[tuple[str, str]]:
    """(URL, label) of the reports about this campaign, once there is something to report.

    Each link is offered only to staff whose permissions open it, and only
    if its view is installed (the report apps are optional pieces).
    """
    if not started:
        return []
    wanted = [("campaign_report", _("Delivery report"), "campaigns.view_campaign")]
    if campaign.kind == Campaign.Kind.APPEAL:
        wanted.append(("admin:donations_appeal_report", _("Money raised"), "donations.view_donation"))
    links = []
    for name, label, permission in wanted:
        if not request.user.has_perm(permission):
            continue
        try:
            links.append((reverse(name, args=[campaign.pk]), label))
        except NoReverseMatch:
            continue
    return links


def panel_context(request: HttpRequest, campaign: Campaign, *, may_change: bool) -> dict[str, Any]:
    user = request.user
    status = campaign.status
    before_send = status in lifecycle.BEFORE_SEND
    counts = lifecycle.campaign_counts(campaign)
    steps = _approval_steps(campaign, user, may_change=may_change) + _sending_steps(
        campaign, user, may_change=may_change, unknown=counts.get("unknown", 0)
    )
    warnings = checklist.run_checklist(campaign) if before_send else []
    languages = versions(campaign)
    return {
        "campaign": campaign,
        "counts": counts,
        "steps": steps,
        "can_send": can_send(user) and status in (S.DRAFT, S.APPROVED, S.SCHEDULED),
        "send_blocked_reason": lifecycle.approval_missing(campaign) if before_send else None,
        "approve_blocked_reason": (
            lifecycle.approve_blocked_reason(campaign, actor=user) if status == S.REVIEW else None
        ),
        "approval_required": lifecycle.approval_required(),
        "warnings": warnings,
        "content_blocked": any(warning.blocks for warning in warnings),
        "language_shares": checklist.language_shares(campaign) if before_send else [],
        "can_restrict_languages": before_send
        and may_change
        and any(warning.code == "no-translation" for warning in warnings),
        "before_send": before_send,
        "live": status in LIVE,
        "history": AuditLog.objects.filter(campaign=campaign).select_related("actor")[:30],
        "staff_addresses": proofs.staff_addresses(),
        "my_address": getattr(user, "email", ""),
        "languages": languages,
        "version_names": get_text_list(
            [name for code, name in languages if code in (campaign.languages or [code])], _("and")
        ),
        "org_time_zone": settings.TIME_ZONE,
        "scheduled_local": timezone.localtime(campaign.scheduled_at, org_zone()) if campaign.scheduled_at else None,
        "report_links": report_links(request, campaign, started=not before_send),
        "ab": ab_test_report(campaign),
        "cap": checklist.cap_description() if counts.get("capped") else "",
    }
