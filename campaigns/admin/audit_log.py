"""The audit log in the admin: read-only evidence of who did what."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy

from campaigns.models import AuditLog


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    titles = {
        "add": gettext_lazy("Add an audit log entry"),
        "change": gettext_lazy("Edit audit log entry"),
        "view": gettext_lazy("View audit log entry"),
    }
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
