"""Campaign admin: edit, preview, test, check, approve, schedule, send, watch.

The change page is the whole workflow on one screen: a panel above the form
shows the status, who may do what next (buttons), the recipient count, the
pre-send checklist, a test-send form and the audit history. Every button
posts to a small view here that calls a service (``approval``,
``operations``) and turns its domain errors into admin messages.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import get_text_list
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns import approval, checklist, operations
from campaigns.api.auth import hash_token, new_secret
from campaigns.models import ApiToken, AuditLog, Campaign, CampaignArticle, CampaignTranslation
from campaigns.sending import rendering
from campaigns.staff import audit
from campaigns.staff.roles import can_approve, can_send
from campaigns.workflow import TransitionNotAllowed
from subscribers.dates import check_form_dates, date_problem
from subscribers.text import address_problem, has_control_characters

S = Campaign.Status
# Once sending has started, what was sent is history: nothing is edited.
LOCKED = {S.SENDING, S.PAUSED, S.SENT, S.CANCELLED}
LIVE = {S.SCHEDULED, S.SENDING, S.PAUSED}
PREVIEW_WIDTHS = {"desktop": 640, "phone": 375}
DONOR_RULE_ALL = "all"


def _org_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


# --- The form ----------------------------------------------------------------------------

K = Campaign.Kind
# Which kinds use which fields: the form shows each field only for its kinds
# (static/tocsin/admin-campaign.css hides the others as the kind changes).
KIND_FIELDS: dict[str, set[str]] = {
    "call_to_action_text": {K.ALERT, K.APPEAL},
    "call_to_action_url": {K.ALERT, K.APPEAL},
    "donor_rule": {K.APPEAL},
    "exclude_donors_days": {K.APPEAL},
}


def _kind_classes(*kinds: str) -> list[str]:
    return ["tocsin-kind", *(f"tocsin-for-{kind}" for kind in kinds)]


class CampaignForm(forms.ModelForm):
    languages = forms.MultipleChoiceField(
        label=gettext_lazy("Only readers of"),
        choices=settings.LANGUAGES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("Tick none to reach everyone, whatever their language."),
    )
    call_to_action_url = forms.URLField(
        label=gettext_lazy("Button link"),
        required=False,
        assume_scheme="https",
        max_length=200,
        help_text=gettext_lazy("For appeals: the donate page. The campaign's attribution code is added to it."),
    )

    class Meta:
        model = Campaign
        fields = [
            "kind",
            "subject",
            "preheader",
            "language",
            "intro_markdown",
            "body_markdown",
            "call_to_action_text",
            "call_to_action_url",
            "from_name",
            "from_email",
            "reply_to",
            "lists",
            "languages",
            "signed_up_after",
            "signed_up_before",
            "engaged_within_days",
            "donor_rule",
            "exclude_donors_days",
            "tracking_enabled",
            "public_archive",
        ]
        widgets = {
            "subject": forms.TextInput(attrs={"class": "vTextField", "style": "width:min(100%,42rem)"}),
            "preheader": forms.TextInput(attrs={"class": "vTextField", "style": "width:min(100%,42rem)"}),
            "intro_markdown": forms.Textarea(attrs={"rows": 4}),
            "body_markdown": forms.Textarea(attrs={"rows": 14}),
            "lists": forms.CheckboxSelectMultiple,
            "donor_rule": forms.RadioSelect,
            # Values as the widget formats True/False/None, so the saved choice shows as checked.
            "public_archive": forms.RadioSelect(
                choices=[
                    ("", gettext_lazy("As its kind: bulletins yes, alerts and appeals no")),
                    ("True", gettext_lazy("Yes, once sent")),
                    ("False", gettext_lazy("No")),
                ]
            ),
        }
        labels = {
            "intro_markdown": gettext_lazy("Introduction"),
            "body_markdown": gettext_lazy("Text"),
            "call_to_action_text": gettext_lazy("Button text"),
            "exclude_donors_days": gettext_lazy("Leave out people who gave in the last … days"),
            "donor_rule": gettext_lazy("Donors"),
            "tracking_enabled": gettext_lazy("Count opens and clicks"),
        }
        help_texts = {
            "subject": gettext_lazy('Merge fields: {{ name|default:"friend" }}.'),
            "preheader": gettext_lazy("The grey line inboxes show after the subject."),
            "body_markdown": gettext_lazy(
                'Markdown. Greet readers with {{ name|default:"friend" }}. For bulletins, add articles below.'
            ),
            "tracking_enabled": gettext_lazy(
                "Off: no open pixel and no rewritten links for anyone. Turn it off for readers at risk."
            ),
            "lists": gettext_lazy("Everyone confirmed on any of these lists (each person once)."),
            "exclude_donors_days": gettext_lazy("The N of the donor rule above; empty: that rule's default."),
            "donor_rule": gettext_lazy("For appeals. Monthly donors are always left out of appeals."),
        }

    def clean_subject(self) -> str:
        subject = self.cleaned_data["subject"]
        if has_control_characters(subject):
            raise forms.ValidationError(_("A subject is one line, without line breaks."))
        return subject.strip()

    def clean_preheader(self) -> str:
        value = self.cleaned_data.get("preheader", "")
        if has_control_characters(value):
            raise forms.ValidationError(_("One line, without line breaks."))
        return value

    def _address(self, field: str) -> str:
        value = self.cleaned_data.get(field) or ""
        # Replies to an IP literal go to a host of the writer's choosing, past every DNS and DMARC check.
        problem = address_problem(value.strip().lower()) if value else None
        if problem:
            raise forms.ValidationError(problem)
        return value

    def clean_from_email(self) -> str:
        return self._address("from_email")

    def clean_reply_to(self) -> str:
        return self._address("reply_to")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        check_form_dates(self)
        if "donor_rule" in self.fields:
            # Forms posted without it (older pages, scripts) mean "all", as the API does.
            self.fields["donor_rule"].required = False

    def clean_donor_rule(self) -> str:
        return self.cleaned_data.get("donor_rule") or DONOR_RULE_ALL

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        after, before = data.get("signed_up_after"), data.get("signed_up_before")
        if after and before and after >= before:
            self.add_error("signed_up_before", _("Must be later than 'signed up after'."))
        # Fields of another kind were hidden from staff when they changed the kind
        # (KIND_FIELDS): what they cannot see is reset, never an error they cannot reach.
        kind = data.get("kind")
        for name, kinds in KIND_FIELDS.items():
            if kind not in kinds and name in data:
                data[name] = self.fields[name].clean(None) if name != "donor_rule" else DONOR_RULE_ALL
        return data


class _FrozenOnceSending:
    """Inline rows follow their campaign: nothing changes once sending has started."""

    def _editable(self, obj: Campaign | None) -> bool:
        return obj is None or obj.status not in LOCKED

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._editable(obj) and super().has_add_permission(request, obj)  # type: ignore[misc]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._editable(obj) and super().has_change_permission(request, obj)  # type: ignore[misc]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._editable(obj) and super().has_delete_permission(request, obj)  # type: ignore[misc]


class CampaignArticleInline(_FrozenOnceSending, admin.TabularInline):
    model = CampaignArticle
    extra = 1
    fields = ["position", "article"]
    autocomplete_fields = ["article"]
    ordering = ["position", "id"]
    verbose_name = gettext_lazy("article")
    verbose_name_plural = gettext_lazy("Articles in this bulletin (in order)")
    classes = _kind_classes(K.BULLETIN)

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[CampaignArticle]:
        # Each row is labelled with its article's title.
        return super().get_queryset(request).select_related("article")


class CampaignTranslationInline(_FrozenOnceSending, admin.StackedInline):
    model = CampaignTranslation
    extra = 0
    fields = ["language", "subject", "preheader", "intro_markdown", "body_markdown", "call_to_action_text"]
    ordering = ["language"]
    verbose_name = gettext_lazy("translation")
    verbose_name_plural = gettext_lazy("Translations (readers get their language, or the main one)")


# --- The admin -----------------------------------------------------------------------------


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    form = CampaignForm
    # Readonly (locked) campaigns build the model's own URL field: https for bare hosts there too.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    change_form_template = "admin/campaigns/campaign/change_form.html"
    list_display = ["readable_subject", "kind", "status_badge", "language", "scheduled_local", "progress", "created_by"]
    list_filter = ["status", "kind", "language"]
    search_fields = ["subject", "preheader"]
    list_select_related = ["created_by"]
    date_hierarchy = "created_at"
    inlines = [CampaignArticleInline, CampaignTranslationInline]

    class Media:
        css = {"all": ["tocsin/admin-campaign.css"]}
        js = ["tocsin/admin-campaign-kind.js"]

    fieldsets = [
        (None, {"fields": ["kind", "language", "subject", "preheader"]}),
        (gettext_lazy("Content"), {"fields": ["intro_markdown", "body_markdown"]}),
        (
            gettext_lazy("Button (alerts and appeals)"),
            {"fields": ["call_to_action_text", "call_to_action_url"], "classes": _kind_classes(K.ALERT, K.APPEAL)},
        ),
        (
            gettext_lazy("Audience"),
            {
                "fields": [
                    "lists",
                    "languages",
                    ("signed_up_after", "signed_up_before"),
                    "engaged_within_days",
                    "tracking_enabled",
                    "public_archive",
                ]
            },
        ),
        (
            gettext_lazy("Donors (appeals)"),
            {"fields": ["donor_rule", "exclude_donors_days"], "classes": _kind_classes(K.APPEAL)},
        ),
        (
            gettext_lazy("Sender"),
            {"fields": ["from_name", "from_email", "reply_to"], "classes": ["collapse"]},
        ),
    ]

    # --- list columns ----------------------------------------------------------
    @admin.display(description=gettext_lazy("Subject"), ordering="subject")
    def readable_subject(self, obj: Campaign) -> str:
        return str(obj)

    @admin.display(description=gettext_lazy("Status"), ordering="status")
    def status_badge(self, obj: Campaign) -> str:
        return format_html(
            '<span class="tocsin-status tocsin-status-{}">{}</span>', obj.status, obj.get_status_display()
        )

    @admin.display(description=gettext_lazy("Scheduled"), ordering="scheduled_at")
    def scheduled_local(self, obj: Campaign) -> str:
        if not obj.scheduled_at:
            return "—"
        return timezone.localtime(obj.scheduled_at, _org_zone()).strftime("%Y-%m-%d %H:%M")

    @admin.display(description=gettext_lazy("Progress"))
    def progress(self, obj: Campaign) -> str:
        if obj.status not in (S.SENDING, S.PAUSED, S.SENT, S.CANCELLED):
            return "—"
        counts = operations.campaign_counts(obj)
        total = counts["recipients"] or 1
        done = counts["sent"] + counts["failed"]
        return format_html(
            '<progress max="{}" value="{}"></progress> {} / {}', total, done, counts["sent"], counts["recipients"]
        )

    # --- permissions and read-only states --------------------------------------
    def get_readonly_fields(self, request: HttpRequest, obj: Campaign | None = None) -> list[str]:  # type: ignore[override]
        if obj is not None and obj.status in LOCKED:
            return [name for name in CampaignForm.Meta.fields]
        return []

    def get_inlines(self, request: HttpRequest, obj: Campaign | None = None) -> list[Any]:  # type: ignore[override]
        if obj is not None and obj.status in LOCKED and obj.kind != K.BULLETIN:
            return [CampaignTranslationInline]
        return list(self.inlines)

    def get_fieldsets(self, request: HttpRequest, obj: Campaign | None = None) -> Any:
        if obj is None or obj.status not in LOCKED:
            return self.fieldsets
        # Once sending has started the kind cannot change: only its own fields,
        # and the panel above the form says whether it is in the public archive.
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f != "public_archive"]})
            for name, options in self.fieldsets
            if "tocsin-kind" not in options.get("classes", []) or f"tocsin-for-{obj.kind}" in options["classes"]
        ]

    def has_delete_permission(self, request: HttpRequest, obj: Campaign | None = None) -> bool:
        # Only a draft that never sent may disappear: the ledger and reports are history.
        if obj is not None and (obj.status != S.DRAFT or obj.deliveries.exists()):
            return False
        return super().has_delete_permission(request, obj)

    # --- saving ----------------------------------------------------------------
    def save_model(self, request: HttpRequest, obj: Campaign, form: forms.ModelForm, change: bool) -> None:
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: forms.ModelForm, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        campaign: Campaign = form.instance
        if not change:
            audit.record(actor=request.user, action=audit.CREATED, campaign=campaign)
            return
        changed = list(form.changed_data) + [
            str(formset.model._meta.verbose_name_plural) for formset in formsets if formset.has_changed()
        ]
        if not changed:
            return
        audit.record(actor=request.user, action=audit.EDITED, campaign=campaign, detail=", ".join(changed)[:2000])
        if approval.void_approval_after_edit(campaign, actor=request.user):
            messages.warning(request, _("The campaign changed after it was submitted: it is a draft again."))

    # --- extra views ---------------------------------------------------------------
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

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        campaign = Campaign.objects.filter(pk=object_id).first() if object_id.isdigit() else None
        context = dict(extra_context or {})
        if campaign is not None and self.has_view_permission(request, campaign):
            context.update(self._panel_context(request, campaign))
        return super().change_view(request, object_id, form_url, extra_context=context)

    def _panel_context(self, request: HttpRequest, campaign: Campaign) -> dict[str, Any]:
        user = request.user
        status = campaign.status
        before_send = status in (S.DRAFT, S.REVIEW, S.APPROVED, S.SCHEDULED)
        steps = []
        may_change = self.has_change_permission(request, campaign)
        if status == S.DRAFT and may_change and approval.approval_required():
            steps.append(("submit", _("Submit for review"), "default"))
        if status == S.REVIEW and can_approve(user):
            blocked = approval.approve_blocked_reason(campaign, actor=user)
            steps.append(("approve", _("Approve"), "default" if not blocked else "disabled"))
        if status in (S.REVIEW, S.APPROVED) and may_change:
            steps.append(("draft", _("Back to draft"), ""))
        if status == S.SCHEDULED and can_send(user):
            steps.append(("draft", _("Unschedule"), ""))
        if status == S.SENDING and can_send(user):
            steps.append(("pause", _("Pause"), ""))
        if status == S.PAUSED and can_send(user):
            steps.append(("resume", _("Resume"), "default"))
        if status in (S.REVIEW, S.APPROVED, S.SCHEDULED, S.SENDING, S.PAUSED) and can_send(user):
            steps.append(("cancel", _("Cancel campaign"), "danger"))
        if status in LOCKED:
            # Changeable after sending: the form's field is locked with the rest.
            if campaign.in_public_archive and (can_send(user) or may_change):
                steps.append(("unpublish", _("Remove from the public archive"), ""))
            elif not campaign.in_public_archive and can_send(user):
                steps.append(("publish", _("Show in the public archive"), ""))
        counts = operations.campaign_counts(campaign)
        if counts.get("unknown") and status in (S.SENT, S.PAUSED) and can_send(user):
            steps.append(("resend_unknown", _("Re-send the unknown ones"), ""))
        blocked_reason = approval.send_blocked_reason(campaign) if before_send else None
        warnings = checklist.run_checklist(campaign) if before_send else []
        return {
            "campaign": campaign,
            "counts": counts,
            "steps": steps,
            "can_send": can_send(user) and status in (S.DRAFT, S.APPROVED, S.SCHEDULED),
            "send_blocked_reason": blocked_reason,
            "approve_blocked_reason": (
                approval.approve_blocked_reason(campaign, actor=user) if status == S.REVIEW else None
            ),
            "approval_required": approval.approval_required(),
            "warnings": warnings,
            "content_blocked": any(warning.blocks for warning in warnings),
            "language_shares": checklist.language_shares(campaign) if before_send else [],
            "can_restrict_languages": before_send
            and may_change
            and any(warning.code == "no-translation" for warning in warnings),
            "before_send": before_send,
            "live": status in LIVE,
            "history": AuditLog.objects.filter(campaign=campaign).select_related("actor")[:30],
            "staff_addresses": operations.staff_addresses(),
            "my_address": getattr(user, "email", ""),
            "languages": self._versions(campaign),
            "version_names": get_text_list(
                [name for code, name in self._versions(campaign) if code in (campaign.languages or [code])],
                _("and"),
            ),
            "org_time_zone": settings.TIME_ZONE,
            "scheduled_local": (
                timezone.localtime(campaign.scheduled_at, _org_zone()) if campaign.scheduled_at else None
            ),
            "report_links": self._report_links(request, campaign, started=not before_send),
        }

    @staticmethod
    def _report_links(request: HttpRequest, campaign: Campaign, *, started: bool) -> list[tuple[str, str]]:
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

    def _versions(self, campaign: Campaign) -> list[tuple[str, str]]:
        names = dict(settings.LANGUAGES)
        codes = [campaign.language, *campaign.translations.values_list("language", flat=True)]
        return [(code, str(names.get(code, code))) for code in codes]

    def preview_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        campaign = self._campaign(request, pk)
        versions = self._versions(campaign)
        language = request.GET.get("lang", "")
        if language not in dict(versions):
            language = campaign.language
        try:
            subject, html, text = rendering.render_preview(campaign, language=language)
            error = ""
        except Exception as problem:  # the preview reports a broken template instead of a 500
            subject, html, text, error = campaign.subject, "", "", str(problem)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Preview: %(subject)s") % {"subject": campaign},
            "opts": self.model._meta,
            "original": campaign,
            "campaign": campaign,
            "subject": subject,
            "html": html,
            "text": text,
            "error": error,
            "size_kb": round(len(html.encode()) / 1024, 1),
            "size_warning": rendering.message_size_warning(html) if html else None,
            "language": language,
            "languages": versions,
            "widths": PREVIEW_WIDTHS,
        }
        return TemplateResponse(request, "admin/campaigns/campaign/preview.html", context)

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
            sent = operations.send_test(
                campaign, actor=request.user, addresses=addresses, language=request.POST.get("language") or None
            )
        except operations.TestRecipientRefused as problem:
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
            at: datetime | None = None
            if request.POST.get("when") == "later":
                raw = request.POST.get("at", "")
                try:
                    at = datetime.fromisoformat(raw)
                except ValueError:
                    error = _("Enter a date and time.")
                else:
                    # Before any time-zone arithmetic: year 9999 overflows there.
                    error = date_problem(at) or ""
                    if timezone.is_naive(at):
                        at = at.replace(tzinfo=_org_zone())
            if not error:
                try:
                    operations.start(campaign, actor=request.user, at=at)
                except (
                    operations.ScheduleInPast,
                    operations.OperationRefused,
                    approval.ApprovalError,
                    TransitionNotAllowed,
                ) as problem:
                    error = str(problem)
                else:
                    if at is not None:
                        local = timezone.localtime(at, _org_zone())
                        messages.success(
                            request,
                            _("Scheduled for %(when)s (%(zone)s).")
                            % {"when": local.strftime("%Y-%m-%d %H:%M"), "zone": settings.TIME_ZONE},
                        )
                    else:
                        messages.success(request, _("Sending has started."))
                    return self._back(campaign)
        default_at = timezone.localtime(timezone.now(), _org_zone()).replace(second=0, microsecond=0)
        warnings = checklist.run_checklist(campaign)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Send “%(subject)s”") % {"subject": campaign},
            "opts": self.model._meta,
            "original": campaign,
            "campaign": campaign,
            "error": error,
            "recipients": operations.count_audience(campaign),
            "warnings": warnings,
            "content_blocked": any(warning.blocks for warning in warnings),
            "language_shares": checklist.language_shares(campaign),
            "blocked_reason": approval.send_blocked_reason(campaign),
            "engine_installed": operations.engine_installed(),
            "org_time_zone": settings.TIME_ZONE,
            "default_at": (default_at + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "posted_at": request.POST.get("at", ""),
        }
        return TemplateResponse(request, "admin/campaigns/campaign/send.html", context)

    def step_view(self, request: HttpRequest, pk: int, step: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:campaigns_campaign_change", args=[pk]))
        campaign = self._campaign(request, pk)
        user = request.user
        done = {
            "submit": _("Submitted for review."),
            "approve": _("Approved. It can now be scheduled or sent."),
            "draft": _("Back to draft."),
            "pause": _("Paused."),
            "resume": _("Resumed."),
            "cancel": _("Cancelled."),
            "resend_unknown": _("The unknown deliveries are queued again."),
            "languages": _("Only readers of the languages this campaign has a version in will get it."),
            "publish": _("It is shown in the public archive."),
            "unpublish": _("It is no longer shown in the public archive."),
        }
        if step not in done:
            raise PermissionDenied
        needs_send = step in ("pause", "resume", "cancel", "resend_unknown") or (
            step == "draft" and campaign.status == S.SCHEDULED
        )
        # Making a campaign public is a sender's decision; anyone who may edit may hide it.
        needs_send = needs_send or step == "publish"
        if needs_send and not can_send(user):
            raise PermissionDenied
        if step == "unpublish" and not (can_send(user) or self.has_change_permission(request, campaign)):
            raise PermissionDenied
        if (
            step in ("submit", "draft", "languages")
            and not needs_send
            and not self.has_change_permission(request, campaign)
        ):
            raise PermissionDenied
        try:
            if step == "submit":
                approval.submit_for_review(campaign, actor=user)
            elif step == "approve":
                approval.approve(campaign, actor=user)
            elif step == "draft":
                approval.return_to_draft(campaign, actor=user)
            elif step == "pause":
                operations.pause(campaign, actor=user)
            elif step == "resume":
                operations.resume(campaign, actor=user)
            elif step == "cancel":
                operations.cancel(campaign, actor=user)
            elif step == "languages":
                operations.restrict_to_versions(campaign, actor=user)
            elif step in ("publish", "unpublish"):
                operations.set_public_archive(campaign, actor=user, shown=step == "publish")
            else:
                operations.resend_unknown(campaign, actor=user)
        except (approval.ApprovalError, operations.OperationRefused, TransitionNotAllowed) as problem:
            messages.error(request, str(problem))
        else:
            messages.success(request, done[step])
        return self._back(campaign)

    def progress_view(self, request: HttpRequest, pk: int) -> JsonResponse:
        campaign = self._campaign(request, pk)
        counts = operations.campaign_counts(campaign)
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


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    list_display = ["created_at", "actor", "action", "campaign", "detail"]
    list_filter = ["action", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["detail", "campaign__subject", "actor__username"]
    list_select_related = ["actor", "campaign"]
    date_hierarchy = "created_at"

    # The log is evidence: nobody edits or deletes it from the admin.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ApiTokenForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["user", "name"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    form = ApiTokenForm
    list_display = ["name", "user", "created_at", "last_used_at"]
    list_select_related = ["user"]
    readonly_fields = ["created_at", "last_used_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:  # type: ignore[override]
        return ["user", "name", "created_at", "last_used_at"] if obj else []

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False if obj else super().has_change_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: ApiToken, form: forms.ModelForm, change: bool) -> None:
        secret = new_secret()
        obj.key_hash = hash_token(secret)
        super().save_model(request, obj, form, change)
        audit.record(actor=request.user, action=audit.TOKEN_CREATED, detail=f"token #{obj.pk} for {obj.user}")
        messages.warning(
            request,
            _("Copy this token now, it is shown only once: %(token)s") % {"token": secret},
        )
