"""The staff's admin: headed with the organisation's name, sections in the order staff work.

Everything about who may get in (staff accounts, roles, API tokens, two-step
devices, sign-in attempts) is one section, "Staff and security", whichever
package its models come from. The other packages' models get names staff
understand, in their language.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps as django_apps
from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import URLPattern, URLResolver, path, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

SECURITY = "security"
# (app label, model) → the name the section shows. django-otp names its models in
# English only, and "Access attempts" means little to staff.
SECURITY_MODELS: dict[tuple[str, str], Promise] = {
    ("auth", "user"): _("Staff accounts"),
    ("auth", "group"): _("Roles"),
    ("campaigns", "apitoken"): _("API tokens"),
    ("otp_totp", "totpdevice"): _("Authenticator apps (two-step sign-in)"),
    ("otp_static", "staticdevice"): _("Backup codes (two-step sign-in)"),
    ("axes", "accessattempt"): _("Failed sign-ins (lockouts)"),
    ("axes", "accessfailurelog"): _("Failed sign-in log"),
    ("axes", "accesslog"): _("Sign-in log"),
    ("outbox", "outboxmessage"): _("Outbox (task calls waiting for the workers)"),
}
# Sections in the order staff use them; anything else follows, then security.
SECTION_ORDER = ["campaigns", "journeys", "subscribers", "donations"]
SECURITY_NAME = _("Staff and security")
# Apps whose every model is in the security section.
SECURITY_ONLY_APPS = ("auth", "axes", "otp_static", "otp_totp", "outbox")


class TocsinAdminSite(admin.AdminSite):
    index_title = _("Dashboard")

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        context = super().each_context(request)
        context["site_header"] = settings.TOCSIN_ORG_NAME
        context["site_title"] = f"{settings.TOCSIN_ORG_NAME} · Tocsin"
        return context

    def get_urls(self) -> list[URLResolver | URLPattern]:
        security = path(
            f"{SECURITY}/", self.admin_view(self.app_index), {"app_label": SECURITY}, name=f"{SECURITY}_index"
        )
        # Breadcrumbs on these apps' model pages link to the app's own page: their section is security's.
        moved = [path(f"{label}/", self.admin_view(self.security_redirect)) for label in SECURITY_ONLY_APPS]
        return [security, *moved, *super().get_urls()]

    def security_redirect(self, request: HttpRequest) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse(f"admin:{SECURITY}_index", current_app=self.name))

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict[str, Any]]:
        apps = self._build_app_dict(request)
        security_models = []
        for label in sorted({label for label, _model in SECURITY_MODELS}):
            section = apps.pop(label, None)
            for model in section["models"] if section else []:
                key = (label, model["object_name"].lower())
                if key in SECURITY_MODELS:
                    model["name"] = SECURITY_MODELS[key]
                    security_models.append(model)
                else:
                    apps.setdefault(label, {**section, "models": []})["models"].append(model)  # type: ignore[index]
        rank = {label: index for index, label in enumerate(SECTION_ORDER)}
        sections = sorted(apps.values(), key=lambda app: (rank.get(app["app_label"], len(rank)), str(app["name"])))
        for section in sections:
            section["models"].sort(key=lambda model: str(model["name"]))
        if security_models:
            sections.append(
                {
                    "name": SECURITY_NAME,
                    "app_label": SECURITY,
                    "app_url": reverse(f"admin:{SECURITY}_index", current_app=self.name),
                    "has_module_perms": True,
                    "models": sorted(security_models, key=lambda model: str(model["name"])),
                }
            )
        if app_label is not None:
            return [section for section in sections if section["app_label"] == app_label]
        return sections


def name_security_apps() -> None:
    """Breadcrumbs show an app's name: these apps' models all live in "Staff and security"."""
    for label in SECURITY_ONLY_APPS:
        try:
            app = django_apps.get_app_config(label)
        except LookupError:
            continue
        app.verbose_name = SECURITY_NAME  # type: ignore[assignment]
