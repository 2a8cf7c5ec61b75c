"""API tokens in the admin: the secret is shown once, only its hash is kept."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns.api.auth import hash_token, new_secret
from campaigns.models import ApiToken
from campaigns.staff import audit


class ApiTokenForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["user", "name"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    titles = {
        "add": gettext_lazy("Add an API token"),
        "change": gettext_lazy("Edit API token"),
        "view": gettext_lazy("View API token"),
    }
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
