"""Refused webhook events: what providers sent that Tocsin acknowledged but could not use."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from campaigns.models import RefusedWebhook


@admin.register(RefusedWebhook)
class RefusedWebhookAdmin(admin.ModelAdmin):
    titles = {
        "add": _("Add a refused webhook event"),
        "change": _("Edit refused webhook event"),
        "view": _("View refused webhook event"),
    }
    # The reason first: on a phone it is what fits.
    list_display = ["why", "provider", "event", "received_at"]
    list_display_links = ["why"]
    list_filter = ["provider"]
    search_fields = ["event_id", "reason"]
    readonly_fields = ["received_at", "provider", "event_type", "event_id", "reason"]
    fields = ("received_at", "provider", "event_type", "event_id", "reason")

    @admin.display(description=_("event"), ordering="event_type")
    def event(self, refusal: RefusedWebhook) -> str:
        return " ".join(part for part in (refusal.event_type, refusal.event_id) if part) or "—"

    @admin.display(description=_("reason"))
    def why(self, refusal: RefusedWebhook) -> str:
        return Truncator(refusal.reason).chars(160)

    # Written only by the webhooks; staff read them (and may delete what they have dealt with).
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
