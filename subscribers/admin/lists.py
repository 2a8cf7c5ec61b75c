"""Lists in the admin: their names and descriptions, and those in each other language."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils.text import format_lazy
from django.utils.translation import get_language_info
from django.utils.translation import gettext_lazy as _

from subscribers.models import MailingList, Subscriber, Subscription
from subscribers.text import SafeTextValidator


def _translated_languages() -> list[tuple[str, str]]:
    """(code, the language's own name) of every language a list's name can be translated into."""
    return [
        (code, get_language_info(code)["name_local"].capitalize())
        for code, _label in settings.LANGUAGES
        if code != settings.LANGUAGE_CODE
    ]


def _translation_fields() -> dict[str, forms.Field]:
    fields: dict[str, forms.Field] = {}
    for code, language in _translated_languages():
        fields[f"name_{code}"] = forms.CharField(
            label=format_lazy("{} ({})", _("Name"), language),
            max_length=MailingList._meta.get_field("name").max_length,
            required=False,
            widget=forms.TextInput(attrs={"class": "vTextField"}),
            validators=[SafeTextValidator(single_line=True)],
        )
        fields[f"description_{code}"] = forms.CharField(
            label=format_lazy("{} ({})", _("Description"), language),
            required=False,
            widget=forms.Textarea(attrs={"rows": 3, "class": "vLargeTextField"}),
            validators=[SafeTextValidator()],
        )
    return fields


class MailingListForm(forms.ModelForm):
    """The list's own fields, and its name and description in each other language."""

    class Meta:
        model = MailingList
        fields = ["name", "slug", "description", "public", "tracking_enabled", "position"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        translations = self.instance.translations if isinstance(self.instance.translations, dict) else {}
        for code, _language in _translated_languages():
            entry = translations.get(code)
            if not isinstance(entry, dict):
                entry = {}
            for field in ("name", "description"):
                self.initial.setdefault(f"{field}_{code}", entry.get(field, ""))

    def save(self, commit: bool = True) -> MailingList:
        translations = {}
        for code, _language in _translated_languages():
            entry = {
                field: " ".join(value.split()) if field == "name" else value.strip()
                for field in ("name", "description")
                if (value := self.cleaned_data.get(f"{field}_{code}") or "").strip()
            }
            if entry:
                translations[code] = entry
        self.instance.translations = translations
        return super().save(commit)


# Declared on the class (one pair per language in settings.LANGUAGES), so the
# admin's fieldsets may name them.
_TRANSLATION_FIELDS = _translation_fields()
MailingListForm.base_fields.update(_TRANSLATION_FIELDS)
MailingListForm.declared_fields.update(_TRANSLATION_FIELDS)


@admin.register(MailingList)
class MailingListAdmin(admin.ModelAdmin):
    titles = {"add": _("Add a mailing list"), "change": _("Edit mailing list"), "view": _("View mailing list")}
    form = MailingListForm
    list_display = ["name", "slug", "public", "tracking_enabled", "position", "translated_into", "subscriber_count"]
    list_editable = ["position"]
    list_filter = ["public", "tracking_enabled"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        translated = [
            f"{field}_{code}" for code, _language in _translated_languages() for field in ("name", "description")
        ]
        return [
            (None, {"fields": ["name", "slug", "description", "public", "tracking_enabled", "position"]}),
            (
                _("Translations"),
                {
                    "fields": translated,
                    "description": _(
                        "Readers whose language is one of these see this name and description on the sign-up "
                        "form, in the preference centre, on the topic pages and in their emails. Left empty, "
                        "they see the ones above."
                    ),
                },
            ),
        ]

    @admin.display(description=_("Translated into"))
    def translated_into(self, obj: MailingList) -> str:
        translations = obj.translations if isinstance(obj.translations, dict) else {}
        codes = [code for code, _language in _translated_languages() if code in translations]
        return ", ".join(codes) or "—"

    def get_queryset(self, request: HttpRequest) -> QuerySet[MailingList]:
        # One query for every row's count, not one per list.
        return (
            super()
            .get_queryset(request)
            .annotate(
                active_count=Count(
                    "subscriptions",
                    filter=Q(
                        subscriptions__status=Subscription.Status.ACTIVE,
                        subscriptions__subscriber__status=Subscriber.Status.CONFIRMED,
                    ),
                )
            )
        )

    @admin.display(description=_("Confirmed subscribers"), ordering="active_count")
    def subscriber_count(self, obj: MailingList) -> int:
        return getattr(obj, "active_count", 0)
