"""Refused webhook events: what providers sent that Tocsin acknowledged but could not use."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from campaigns.models import RefusedWebhook


@admin.register(RefusedWebhook)
class RefusedWebhookAdmin(admin.ModelAdmin):
    list_display = ["received_at", "provider", "event_type", "event_id", "reason"]
    list_filter = ["provider", ("received_at", admin.DateFieldListFilter)]
    search_fields = ["event_id", "reason"]
    date_hierarchy = "received_at"
    readonly_fields = ["received_at", "provider", "event_type", "event_id", "reason"]
    fields = ("received_at", "provider", "event_type", "event_id", "reason")

    # Written only by the webhooks; staff read them (and may delete what they have dealt with).
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
