"""Campaign admin: edit, preview, test, check, approve, schedule, send, watch.

The change page is the whole workflow on one screen: a panel above the form
(``panel.py``) shows the status, who may do what next (buttons), the
recipient count, the pre-send checklist, a test-send form and the audit
history. Every button posts to a view of ``views.py`` that calls a service;
the form (``forms.py``) checks what ``campaigns.services.drafts`` checks for
the API too.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns import lifecycle
from campaigns.admin.campaigns.forms import CampaignForm, K, kind_classes
from campaigns.admin.campaigns.panel import LOCKED, org_zone, panel_context
from campaigns.admin.campaigns.views import CampaignViews
from campaigns.models import Campaign, CampaignArticle, CampaignTranslation
from campaigns.services import drafts

S = Campaign.Status


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
    classes = kind_classes(K.BULLETIN)

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
class CampaignAdmin(CampaignViews):
    titles = {
        "add": gettext_lazy("Add a campaign"),
        "change": gettext_lazy("Edit campaign"),
        "view": gettext_lazy("View campaign"),
    }
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

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Campaign]:
        # A journey's emails are edited and reported from their journey.
        return super().get_queryset(request).filter(automated=False)

    class Media:
        css = {"all": ["tocsin/admin-campaign.css"]}
        js = ["tocsin/admin-campaign-kind.js"]

    fieldsets = [
        (None, {"fields": ["kind", "language", "subject", "preheader"]}),
        (gettext_lazy("Content"), {"fields": ["intro_markdown", "body_markdown"]}),
        (
            gettext_lazy("Button (alerts and appeals)"),
            {"fields": ["call_to_action_text", "call_to_action_url"], "classes": kind_classes(K.ALERT, K.APPEAL)},
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
            {"fields": ["donor_rule", "exclude_donors_days"], "classes": kind_classes(K.APPEAL)},
        ),
        (
            gettext_lazy("A/B test"),
            {
                "fields": [
                    "ab_enabled",
                    "ab_subject_2",
                    "ab_subject_3",
                    "ab_subject_4",
                    ("ab_sample_percent", "ab_wait_minutes"),
                    "ab_metric",
                ],
                "classes": ["tocsin-ab-test"],
            },
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
        return timezone.localtime(obj.scheduled_at, org_zone()).strftime("%Y-%m-%d %H:%M")

    @admin.display(description=gettext_lazy("Progress"))
    def progress(self, obj: Campaign) -> str:
        if obj.status not in (S.SENDING, S.PAUSED, S.SENT, S.CANCELLED):
            return "—"
        counts = lifecycle.campaign_counts(obj)
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
        # The A/B test's figures are in the panel above the form.
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f != "public_archive"]})
            for name, options in self.fieldsets
            if "tocsin-kind" not in options.get("classes", []) or f"tocsin-for-{obj.kind}" in options["classes"]
            if "tocsin-ab-test" not in options.get("classes", [])
        ]

    def has_delete_permission(self, request: HttpRequest, obj: Campaign | None = None) -> bool:
        # Only a draft that never sent may disappear: the ledger and reports are history.
        if obj is not None and (obj.status != S.DRAFT or obj.deliveries.exists()):
            return False
        return super().has_delete_permission(request, obj)

    # --- saving: through the drafts service, so the API's rules hold here too ----------
    def save_model(self, request: HttpRequest, obj: Campaign, form: forms.ModelForm, change: bool) -> None:
        if not change:
            drafts.create_campaign(
                actor=request.user,
                campaign=obj,
                lists=form.cleaned_data.get("lists") or [],
                ab_test=form.ab_test_values(),  # type: ignore[attr-defined]
            )
        # A change is saved with its lists and inlines, in save_related.

    def save_related(self, request: HttpRequest, form: forms.ModelForm, formsets: Any, change: bool) -> None:
        if not change:
            super().save_related(request, form, formsets, change)
            return
        changed = list(form.changed_data) + [
            str(formset.model._meta.verbose_name_plural) for formset in formsets if formset.has_changed()
        ]
        voided = drafts.change_campaign(
            actor=request.user,
            campaign=form.instance,
            changed=changed,
            save_related=lambda: super(CampaignAdmin, self).save_related(request, form, formsets, change),
            ab_test=form.ab_test_values(),  # type: ignore[attr-defined]
        )
        if voided:
            messages.warning(request, _("The campaign changed after it was submitted: it is a draft again."))

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        campaign = Campaign.objects.filter(pk=object_id).first() if object_id.isdigit() else None
        context = dict(extra_context or {})
        if campaign is not None and self.has_view_permission(request, campaign):
            may_change = self.has_change_permission(request, campaign)
            context.update(panel_context(request, campaign, may_change=may_change))
        return super().change_view(request, object_id, form_url, extra_context=context)
