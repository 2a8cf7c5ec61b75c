"""Suppressed addresses in the admin: read-only evidence of why an address is never mailed.

Only a hash of each address is kept (erasure leaves nothing else), so the
list cannot show addresses; staff find one by typing it whole, which is
hashed the same way and matched exactly. Nobody adds, changes or lifts a
suppression here: a person comes back by signing up afresh.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from subscribers.models import Suppression
from subscribers.models.people import email_hash

# An address is at most 254 characters: a longer query cannot be one.
_LONGEST_ADDRESS = 254


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    titles = {
        "add": _("Add a suppressed address"),
        "change": _("Suppressed address"),
        "view": _("Suppressed address"),
    }
    # Four columns fit beside the sidebar and the filters; the detail and who imported it are on its page.
    list_display = ["reason", "source", "occurred_at", "created_at"]
    list_filter = ["reason", ("created_at", admin.DateFieldListFilter)]
    ordering = ["-created_at", "-id"]
    fields = ["reason", "detail", "source", "occurred_at", "actor", "created_at", "email_hash"]
    search_fields = ["email_hash"]  # shows the search box; the search itself is by the whole address, below
    search_help_text = _("Type a whole email address: only its hash is kept, so part of one finds nothing.")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Suppression], search_term: str
    ) -> tuple[QuerySet[Suppression], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        if len(term) > _LONGEST_ADDRESS or "@" not in term:
            return queryset.none(), False
        return queryset.filter(email_hash=email_hash(term)), False

    # Evidence: nobody edits or deletes it from the admin.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
