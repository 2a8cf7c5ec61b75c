"""A person's lists and consent history on their admin page: read-only, never edited.

Consent rows are evidence (CASL, GDPR): shown in full, changed by nobody.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from subscribers.models import Consent, Subscription


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _evidence_value(consent: Consent, name: str) -> object:
    field = Consent._meta.get_field(name)
    if getattr(field, "choices", None):
        return getattr(consent, f"get_{name}_display")() or "—"
    value = getattr(consent, name)
    if name == "lists":
        return ", ".join(str(slug) for slug in value) if isinstance(value, list) else value
    if isinstance(value, datetime):
        return date_format(timezone.localtime(value), "DATETIME_FORMAT")
    if isinstance(value, date):
        return date_format(value, "DATE_FORMAT")
    return "—" if value in (None, "") else value


class ConsentInline(ReadOnlyInline):
    """The consent history: CASL and GDPR evidence, every field, never editable.

    A row per event with what staff look for first; the rest of the evidence
    (the exact wording, page, browser, times) unfolds under "All evidence", so
    the table fits the page instead of one narrow column per field.
    """

    model = Consent
    verbose_name = _("consent event")
    verbose_name_plural = _("consent history")
    fields = readonly_fields = ("created_at", "action", "lists_shown", "basis", "source", "ip_address", "evidence")
    ordering = ["created_at", "id"]

    @admin.display(description=_("Lists"))
    def lists_shown(self, obj: Consent) -> object:
        return _evidence_value(obj, "lists")

    @admin.display(description=_("All evidence"))
    def evidence(self, obj: Consent) -> str:
        rows = format_html_join(
            "",
            "<dt>{}</dt><dd>{}</dd>",
            (
                (capfirst(getattr(Consent._meta.get_field(name), "verbose_name", name)), _evidence_value(obj, name))
                for name in (*Consent.EVIDENCE_FIELDS, "actor")
            ),
        )
        return format_html(
            '<details class="tocsin-evidence"><summary>{}</summary><dl>{}</dl></details>', _("Show"), rows
        )


class SubscriptionInline(ReadOnlyInline):
    model = Subscription
    verbose_name_plural = _("lists")
    fields = readonly_fields = ("mailing_list", "status", "created_at", "updated_at")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Subscription]:
        # Each row is labelled with its list's name.
        return super().get_queryset(request).select_related("mailing_list")
