"""The campaign admin's own pages and buttons: preview, test, send, each step, live progress.

Each view calls one service (``campaigns.lifecycle``, ``campaigns.services``)
and turns its domain errors into admin messages.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.text import Truncator, capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns import checklist, lifecycle
from campaigns.admin.campaigns.panel import org_zone, versions
from campaigns.models import Campaign
from campaigns.reports.ab_tests import ab_test_report
from campaigns.sending import audience, plugins, rendering
from campaigns.services import drafts, proofs
from campaigns.staff.roles import can_send
from subscribers.dates import date_problem

S = Campaign.Status
PREVIEW_WIDTHS = {"desktop": 640, "phone": 375}


def preview_response(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    campaign: Campaign,
    *,
    trail: Sequence[tuple[str, str]] = (),
    back: tuple[str, str] | None = None,
) -> TemplateResponse:
    """The preview page of ``campaign`` (or of a journey's email, a hidden campaign) in the ``lang`` asked for.

    ``trail`` (the breadcrumbs between Home and "Preview") and ``back`` (the
    button's link and words) default to the campaign's own pages; a journey's
    email passes its journey's, the page its staff came from.
    """
    opts = model_admin.model._meta
    change_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[campaign.pk])
    if not trail:
        trail = [
            (reverse("admin:app_list", kwargs={"app_label": opts.app_label}), str(opts.app_config.verbose_name)),
            (reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"), str(capfirst(opts.verbose_name_plural))),
            (change_url, Truncator(str(campaign)).words(18, truncate=" …")),
        ]
    languages = versions(campaign)
    language = request.GET.get("lang", "")
    if language not in dict(languages):
        language = campaign.language
    try:
        subject, html, text = rendering.render_preview(campaign, language=language)
        error = ""
    except Exception as problem:  # the preview reports a broken template instead of a 500
        subject, html, text, error = campaign.subject, "", "", str(problem)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": _("Preview: %(subject)s") % {"subject": campaign},
        "opts": opts,
        "trail": trail,
        "back": back or (change_url, _("Back to the campaign")),
        "original": campaign,
        "campaign": campaign,
        "subject": subject,
        "html": html,
        "text": text,
        "error": error,
        "size_kb": round(len(html.encode()) / 1024, 1),
        "size_warning": rendering.message_size_warning(html) if html else None,
        "language": language,
        "languages": languages,
        "widths": PREVIEW_WIDTHS,
    }
    return TemplateResponse(request, "admin/campaigns/campaign/preview.html", context)


def _publish(shown: bool) -> Callable[..., Any]:
    return lambda *, campaign, actor: drafts.set_public_archive(campaign=campaign, actor=actor, shown=shown)


# step → (the service it calls, what the admin says once done)
STEPS: dict[str, tuple[Callable[..., Any], Any]] = {
    "submit": (lifecycle.submit_for_review, gettext_lazy("Submitted for review.")),
    "approve": (lifecycle.approve, gettext_lazy("Approved. It can now be scheduled or sent.")),
    "draft": (lifecycle.return_to_draft, gettext_lazy("Back to draft.")),
    "pause": (lifecycle.pause, gettext_lazy("Paused.")),
    "resume": (lifecycle.resume, gettext_lazy("Resumed.")),
    "cancel": (lifecycle.cancel, gettext_lazy("Cancelled.")),
    "resend_unknown": (lifecycle.resend_unknown, gettext_lazy("The unknown deliveries are queued again.")),
    "languages": (
        drafts.restrict_to_versions,
        gettext_lazy("Only readers of the languages this campaign has a version in will get it."),
    ),
    "publish": (_publish(True), gettext_lazy("It is shown in the public archive.")),
    "unpublish": (_publish(False), gettext_lazy("It is no longer shown in the public archive.")),
}
# Steps only senders take; "draft" too when it unschedules. Making a campaign
# public is a sender's decision; anyone who may edit it may hide it.
SENDER_STEPS = {"pause", "resume", "cancel", "resend_unknown", "publish"}
EDITOR_STEPS = {"submit", "draft", "languages"}


def parse_send_time(raw: str) -> tuple[datetime | None, str]:
    """The send page's date and time, read in the organisation's time zone: (time, error)."""
    try:
        at = datetime.fromisoformat(raw)
    except ValueError:
        return None, _("Enter a date and time.")
    # Before any time-zone arithmetic: year 9999 overflows there.
    problem = date_problem(at)
    if problem:
        return None, problem
    return (at.replace(tzinfo=org_zone()) if timezone.is_naive(at) else at), ""


class CampaignViews(admin.ModelAdmin):
    """The extra views of ``CampaignAdmin``."""

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        extra = [
            path("<int:pk>/preview/", wrap(self.preview_view), name="campaigns_campaign_preview"),
            path("<int:pk>/test/", wrap(self.test_view), name="campaigns_campaign_test"),
            path("<int:pk>/send/", wrap(self.send_view), name="campaigns_campaign_send"),
            path("<int:pk>/step/<str:step>/", wrap(self.step_view), name="campaigns_campaign_step"),
            path("<int:pk>/progress.json", wrap(self.progress_view), name="campaigns_campaign_progress"),
        ]
        return extra + super().get_urls()

    def _campaign(self, request: HttpRequest, pk: int, *, change: bool = False) -> Campaign:
        campaign = get_object_or_404(Campaign, pk=pk)
        allowed = (
            self.has_change_permission(request, campaign) if change else self.has_view_permission(request, campaign)
        )
        if not allowed:
            raise PermissionDenied
        return campaign

    def _back(self, campaign: Campaign) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:campaigns_campaign_change", args=[campaign.pk]))

    def preview_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        campaign = self._campaign(request, pk)
        return preview_response(self, request, campaign)

    @staticmethod
    def _test_addresses(request: HttpRequest) -> list[str]:
        raw = request.POST.get("addresses", "")
        if request.POST.get("to_me"):
            raw = getattr(request.user, "email", "")
        return [part for part in raw.replace(";", ",").replace("\n", ",").split(",") if part.strip()]

    def test_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:campaigns_campaign_change", args=[pk]))
        campaign = self._campaign(request, pk, change=True)
        addresses = self._test_addresses(request)
        try:
            sent = proofs.send_test(
                campaign=campaign,
                actor=request.user,
                addresses=addresses,
                language=request.POST.get("language") or None,
            )
        except proofs.TestRecipientRefused as problem:
            messages.error(request, str(problem))
        except Exception as problem:  # SMTP down, provider refusal: tell staff, keep the page
            messages.error(request, _("The test could not be sent: %(error)s") % {"error": problem})
        else:
            messages.success(
                request,
                _("Test sent to %(addresses)s. Look for [TEST] in the subject.")
                % {"addresses": ", ".join(addresses[:sent])},
            )
        return self._back(campaign)

    def send_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Review and send (or schedule): the last screen before the list is mailed."""
        campaign = self._campaign(request, pk)
        if not can_send(request.user):
            raise PermissionDenied
        error = ""
        if request.method == "POST":
            at, error = (
                parse_send_time(request.POST.get("at", "")) if request.POST.get("when") == "later" else (None, "")
            )
            if not error:
                try:
                    lifecycle.start(campaign=campaign, actor=request.user, at=at)
                except (lifecycle.ScheduleInPast, lifecycle.Refused) as problem:
                    error = str(problem)
                else:
                    messages.success(request, self._started_message(at))
                    return self._back(campaign)
        default_at = timezone.localtime(timezone.now(), org_zone()).replace(second=0, microsecond=0)
        warnings = checklist.run_checklist(campaign)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Send “%(subject)s”") % {"subject": campaign},
            "opts": self.model._meta,
            "original": campaign,
            "campaign": campaign,
            "error": error,
            "recipients": audience.count_audience(campaign),
            "audience_notes": plugins.audience_notes(campaign),
            "capped": audience.count_capped(campaign),
            "cap": checklist.cap_description(),
            "ab": ab_test_report(campaign),
            "warnings": warnings,
            "content_blocked": any(warning.blocks for warning in warnings),
            "language_shares": checklist.language_shares(campaign),
            "blocked_reason": lifecycle.approval_missing(campaign),
            "org_time_zone": settings.TIME_ZONE,
            "default_at": (default_at + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "posted_at": request.POST.get("at", ""),
        }
        return TemplateResponse(request, "admin/campaigns/campaign/send.html", context)

    @staticmethod
    def _started_message(at: datetime | None) -> str:
        if at is None:
            return _("Sending has started.")
        local = timezone.localtime(at, org_zone())
        return _("Scheduled for %(when)s (%(zone)s).") % {
            "when": local.strftime("%Y-%m-%d %H:%M"),
            "zone": settings.TIME_ZONE,
        }

    def _may_take(self, request: HttpRequest, campaign: Campaign, step: str) -> bool:
        if step in SENDER_STEPS or (step == "draft" and campaign.status == S.SCHEDULED):
            return can_send(request.user)
        if step == "unpublish":
            return can_send(request.user) or self.has_change_permission(request, campaign)
        if step in EDITOR_STEPS:
            return self.has_change_permission(request, campaign)
        return True  # approve: the approval rules say who may (lifecycle.approve)

    def step_view(self, request: HttpRequest, pk: int, step: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:campaigns_campaign_change", args=[pk]))
        campaign = self._campaign(request, pk)
        if step not in STEPS or not self._may_take(request, campaign, step):
            raise PermissionDenied
        service, done = STEPS[step]
        try:
            service(campaign=campaign, actor=request.user)
        except lifecycle.Refused as problem:
            messages.error(request, str(problem))
        else:
            messages.success(request, str(done))
        return self._back(campaign)

    def progress_view(self, request: HttpRequest, pk: int) -> JsonResponse:
        campaign = self._campaign(request, pk)
        counts = lifecycle.campaign_counts(campaign)
        total = counts["recipients"]
        done = counts["sent"] + counts["failed"]
        return JsonResponse(
            {
                "status": campaign.status,
                "status_label": str(campaign.get_status_display()),
                "counts": counts,
                "percent": round(100 * done / total, 1) if total else 0,
            }
        )
