"""django-otp's device pages (authenticator apps, backup codes) in the staff member's language.

django-otp names its models, fields, help texts and sections in plain English
strings, not through gettext, so no catalogue can translate them. These admins
are django-otp's own with every label staff read given in Tocsin's words.
Devices are not added here: an app is set up by its owner (/admin/2fa/setup/),
a backup code issued from Staff accounts ("Issue a two-step backup code").
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import display_for_value
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device
from django_otp.plugins.otp_static.admin import StaticDeviceAdmin, StaticTokenInline
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice

LABELS = {
    "user": _("staff account"),
    "name": _("name"),
    "confirmed": _("confirmed"),
    "key": _("secret key"),
    "step": _("time step (seconds)"),
    "t0": _("start time (Unix)"),
    "digits": _("digits"),
    "tolerance": _("tolerance (time steps)"),
    "drift": _("drift (time steps)"),
    "throttling_failure_timestamp": _("last failed code"),
    "throttling_failure_count": _("failed codes in a row"),
    "token": _("code"),
}
HELP_TEXTS = {
    "user": _("The staff account this belongs to."),
    "name": _("A name to tell it apart, for example the phone it is on."),
    "confirmed": _("Only a confirmed device is accepted at sign-in."),
    "key": _("The secret the app shares with Tocsin (hexadecimal)."),
    "step": _("How many seconds each code lasts."),
    "t0": _("When the counting of time steps starts (Unix time)."),
    "digits": _("How many digits the app shows."),
    "tolerance": _("How many time steps early or late a code may be."),
    "drift": _("How many time steps the phone's clock is known to be off."),
    "throttling_failure_timestamp": _("Empty when the last code typed was right."),
    "throttling_failure_count": _("After each wrong code, the next try must wait longer."),
}
SECTIONS = {
    "Identity": _("Who and what"),
    "Timestamps": _("When"),
    "Configuration": _("Settings of the app"),
    "State": _("Clock"),
    "Throttling": _("Wrong codes"),
}


class ConfirmedFilter(admin.BooleanFieldListFilter):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.title = str(_("confirmed"))


class LastUsedFilter(admin.DateFieldListFilter):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.title = str(_("last used"))


class DeviceAdminWords:
    """What both device admins share: columns, filters, form labels and sections, titles; no adding."""

    list_display = ["staff_account", "device_name", "created", "last_used", "is_confirmed"]
    list_filter = [("last_used_at", LastUsedFilter), ("confirmed", ConfirmedFilter)]
    search_help_text = _("Search by user name or email address")
    list_title: Any = ""
    delete_description: Any = ""

    @admin.display(description=_("staff account"), ordering="user__username")
    def staff_account(self, device: Device) -> str:
        return str(device.user)

    @admin.display(description=_("name"), ordering="name")
    def device_name(self, device: Device) -> str:
        return device.name

    @admin.display(description=_("created"), ordering="created_at")
    def created(self, device: Device) -> str:
        # Formatted here: a read-only method's value is shown as it is (an ISO date, "None").
        return display_for_value(device.created_at, "-")  # type: ignore[attr-defined]

    @admin.display(description=_("last used"), ordering="last_used_at")
    def last_used(self, device: Device) -> str:
        return display_for_value(device.last_used_at, "-")  # type: ignore[attr-defined]

    @admin.display(description=_("confirmed"), boolean=True, ordering="confirmed")
    def is_confirmed(self, device: Device) -> bool:
        return bool(device.confirmed)

    def get_list_display(self, request: HttpRequest) -> list[str]:
        return list(self.list_display)

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        # The model's own timestamp fields would show django-otp's English labels.
        return ["created", "last_used"]

    def get_fieldsets(self, request: HttpRequest, obj: Model | None = None) -> list[tuple[Any, dict[str, Any]]]:
        sections = super().get_fieldsets(request, obj)  # type: ignore[misc]
        renamed = {"created_at": "created", "last_used_at": "last_used", "qrcode_link": None}
        result = []
        for name, options in sections:
            fields = [renamed.get(field, field) for field in options["fields"]]
            fields = [field for field in fields if field]
            if fields:
                result.append((SECTIONS.get(name, name), {**options, "fields": fields}))
        return result

    def get_form(self, request: HttpRequest, obj: Model | None = None, change: bool = False, **kwargs: Any) -> Any:
        return super().get_form(  # type: ignore[misc]
            request,
            obj,
            change,
            labels={name: capfirst(label) for name, label in LABELS.items()},
            help_texts=HELP_TEXTS,
            **kwargs,
        )

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)  # type: ignore[misc]
        if "delete_selected" in actions:  # Django words it with the model's (English) name
            function, name, _description = actions["delete_selected"]
            actions["delete_selected"] = (function, name, self.delete_description)
        return actions

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return super().changelist_view(request, {"title": self.list_title, **(extra_context or {})})  # type: ignore[misc]

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class AppDeviceAdmin(DeviceAdminWords, TOTPDeviceAdmin):
    titles = {
        "add": _("Add an authenticator app"),
        "change": _("Edit the authenticator app"),
        "view": _("View the authenticator app"),
    }
    list_title = _("Authenticator apps (two-step sign-in)")
    delete_description = _("Delete the selected authenticator apps")


class BackupCodeForm(forms.ModelForm):
    class Meta:
        labels = {"token": LABELS["token"]}


class BackupCodeInline(StaticTokenInline):
    verbose_name = _("backup code")
    verbose_name_plural = _("backup codes")
    form = BackupCodeForm


class BackupCodesAdmin(DeviceAdminWords, StaticDeviceAdmin):
    titles = {
        "add": _("Add backup codes"),
        "change": _("Edit the backup codes"),
        "view": _("View the backup codes"),
    }
    list_title = _("Backup codes (two-step sign-in)")
    delete_description = _("Delete the selected backup codes")
    inlines = [BackupCodeInline]


# What the change list's count and the delete and history pages say. Set here rather than in a
# Meta (django-otp's models are not ours, and their migrations do not read _meta's names), as
# config/admin.py names the security section's apps.
TOTPDevice._meta.verbose_name = _("authenticator app")
TOTPDevice._meta.verbose_name_plural = _("authenticator apps")
StaticDevice._meta.verbose_name = _("set of backup codes")
StaticDevice._meta.verbose_name_plural = _("sets of backup codes")

for model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
admin.site.register(TOTPDevice, AppDeviceAdmin)
admin.site.register(StaticDevice, BackupCodesAdmin)
