"""A journey's email, written like a campaign (the same fields and translations) and previewed like one.

The hidden campaign behind the step stays open for the journey's people, so
unlike a campaign it can be edited at any time: an edit reaches whoever gets
to the step afterwards (the workers re-render when it changes), never anyone
who already got it. The preview is the campaign preview's page.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns import lifecycle
from campaigns.admin.campaigns.views import preview_response
from campaigns.models import CampaignTranslation
from journeys import roles
from journeys.models import Journey, JourneyEmail


class EmailForm(forms.ModelForm):
    class Meta:
        model = JourneyEmail
        fields = ["language", "subject", "preheader", "body_markdown", "tracking_enabled"]


class TranslationInline(admin.StackedInline):
    model = CampaignTranslation
    extra = 0
    fields = ["language", "subject", "preheader", "body_markdown"]


@admin.register(JourneyEmail)
class JourneyEmailAdmin(admin.ModelAdmin):
    titles = {
        "add": gettext_lazy("Add a journey email"),
        "change": gettext_lazy("Edit journey email"),
        "view": gettext_lazy("View journey email"),
    }
    form = EmailForm
    inlines = [TranslationInline]
    list_display = ["subject", "journey", "language"]
    search_fields = ["subject"]
    fields = ["journey", "language", "subject", "preheader", "body_markdown", "tracking_enabled"]
    readonly_fields = ["journey"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[JourneyEmail]:
        return super().get_queryset(request).filter(journey_step__isnull=False).select_related("journey_step__journey")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # an email is added as a step of its journey

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # removed as a step, which moves its people on

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """A running journey's email is changed only by who may pause it (journeys/roles.py): it is live."""
        if not super().has_change_permission(request, obj):
            return False
        step = getattr(obj, "journey_step", None) if obj is not None else None
        return step is None or not step.journey.active or roles.can_activate(request.user)

    @admin.display(description=gettext_lazy("journey"))
    def journey(self, email: JourneyEmail) -> str:
        step = getattr(email, "journey_step", None)
        return str(step.journey) if step is not None else "—"

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        # A translation changes what the renderer shows: bump the version the workers' cache is keyed on.
        form.instance.save(update_fields=["updated_at"])
        problems = lifecycle.content_problems(form.instance)
        if problems:
            self.message_user(request, " ".join([_("Fix this before anyone reaches the step:"), *problems]), "warning")

    def response_change(self, request: HttpRequest, obj: JourneyEmail) -> HttpResponse:
        if "_continue" in request.POST or "_addanother" in request.POST:
            return super().response_change(request, obj)
        step = getattr(obj, "journey_step", None)
        if step is None:
            return super().response_change(request, obj)
        return HttpResponseRedirect(reverse("admin:journeys_journey_change", args=[step.journey_id]))

    def get_urls(self) -> list[Any]:
        extra = [
            path(
                "<int:pk>/preview/", self.admin_site.admin_view(self.preview_view), name="journeys_journeyemail_preview"
            )
        ]
        return extra + super().get_urls()

    def preview_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        email = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.has_view_permission(request, email):
            raise PermissionDenied
        # Staff come here from the journey's table of steps: lead them back to that step, not to a campaign.
        step = email.journey_step
        journey_url = reverse("admin:journeys_journey_change", args=[step.journey_id])
        trail = [
            (reverse("admin:app_list", kwargs={"app_label": "journeys"}), str(Journey._meta.app_config.verbose_name)),
            (reverse("admin:journeys_journey_changelist"), str(capfirst(Journey._meta.verbose_name_plural))),
            (journey_url, str(step.journey)),
        ]
        back = (f"{journey_url}#step-{step.pk}", _("Back to the journey"))
        return preview_response(self, request, email, trail=trail, back=back)
