"""Lists in the admin: their names and descriptions, and those in each other language."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from subscribers.models import MailingList, Subscriber, Subscription
from subscribers.text import SafeTextValidator
from subscribers.translated import TranslatedModelForm, add_translation_fields, name_field, translated_into


def _description_field(language: str) -> forms.Field:
    return forms.CharField(
        label=format_lazy("{} ({})", _("Description"), language),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "class": "vLargeTextField"}),
        validators=[SafeTextValidator()],
    )


class MailingListForm(TranslatedModelForm):
    """The list's own fields, and its name and description in each other language."""

    translated = ("name", "description")

    class Meta:
        model = MailingList
        fields = ["name", "slug", "description", "public", "tracking_enabled", "position"]


_TRANSLATION_FIELDS = add_translation_fields(
    MailingListForm,
    {"name": name_field(MailingList._meta.get_field("name").max_length), "description": _description_field},
)


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
        return [
            (None, {"fields": ["name", "slug", "description", "public", "tracking_enabled", "position"]}),
            (
                _("Translations"),
                {
                    "fields": _TRANSLATION_FIELDS,
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
        return translated_into(obj)

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
