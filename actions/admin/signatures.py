"""Signatures and letters in the admin: read, erased by staff (GDPR), never written by hand."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from actions import services
from actions.models import Letter, Signature
from subscribers.services.privacy import erased_email


class LetterInline(admin.TabularInline):
    model = Letter
    extra = 0
    can_delete = False
    fields = ("target", "status", "sent_at", "error")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Signature)
class SignatureAdmin(admin.ModelAdmin):
    titles = {"add": _("Add a signature"), "change": _("Edit signature"), "view": _("View signature")}
    list_display = ("name", "email", "action", "postal_code", "district", "source", "created_at")
    list_filter = ("action", "source", "language")
    search_fields = ("email", "name", "postal_code")
    list_select_related = ("action", "district")
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in Signature._meta.fields]
    inlines = [LetterInline]
    actions = ["erase_people"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Signatures are evidence of what a person did: only the person adds one.
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Erase these people's data from their signatures (GDPR)"), permissions=["delete"])
    def erase_people(self, request: HttpRequest, queryset: QuerySet[Signature]) -> None:
        erased = 0
        for email in sorted(set(queryset.filter(erased_at__isnull=True).values_list("email", flat=True))):
            erased += services.erase_signatures(email=email, replacement_email=erased_email(email))
        self.message_user(
            request, _("%(count)d signature(s) erased; the counts stay.") % {"count": erased}, messages.SUCCESS
        )


@admin.register(Letter)
class LetterAdmin(admin.ModelAdmin):
    titles = {"add": _("Add a letter"), "change": _("Edit letter"), "view": _("View letter")}
    list_display = ("signature", "target", "action", "status", "sent_at")
    list_filter = ("status", "action")
    search_fields = ("target__name", "target__email", "signature__email")
    list_select_related = ("signature", "target", "action")
    readonly_fields = [field.name for field in Letter._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
