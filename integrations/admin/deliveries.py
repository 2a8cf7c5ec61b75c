"""Deliveries: what was sent where, how many attempts, the last answer; "retry now"."""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from integrations import services
from integrations.models import WebhookDelivery

_FIELDS = (
    "endpoint",
    "event_type",
    "message_id",
    "status",
    "attempts",
    "created_at",
    "last_attempt_at",
    "next_attempt_at",
    "delivered_at",
    "last_status_code",
    "last_error",
    "response",
    "payload",
)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    titles = {
        "add": gettext_lazy("Add a webhook delivery"),
        "change": gettext_lazy("Edit webhook delivery"),
        "view": gettext_lazy("View webhook delivery"),
    }
    # What staff look for first (which event, did it arrive) before where it went: on a phone the
    # table scrolls sideways, and the columns on the left are the ones seen.
    list_display = ["event_type", "status", "attempts", "last_status_code", "created_at", "last_error", "endpoint"]
    list_display_links = ["event_type"]
    list_filter = ["status", "event_type", "endpoint"]
    search_fields = ["message_id"]
    list_select_related = ["endpoint"]
    fields = _FIELDS
    readonly_fields = _FIELDS
    actions = ["retry_now"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: WebhookDelivery | None = None) -> bool:
        # A delivery is a record: its page is read-only; "change" is what "retry now" asks for.
        return obj is None and super().has_change_permission(request)

    @admin.display(description=gettext_lazy("Body"))
    def payload(self, delivery: WebhookDelivery) -> str:
        try:
            text = json.dumps(json.loads(delivery.body), indent=2, ensure_ascii=False)
        except ValueError:
            text = delivery.body
        return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>', text)

    @admin.display(description=gettext_lazy("Last response"))
    def response(self, delivery: WebhookDelivery) -> str:
        return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>', delivery.last_response or "—")

    @admin.action(description=gettext_lazy("Retry now"), permissions=["change"])
    def retry_now(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        count = services.retry_now(queryset.select_related("endpoint"))
        messages.success(request, _("Queued again: %(count)d.") % {"count": count})
