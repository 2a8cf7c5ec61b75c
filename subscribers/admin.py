"""Subscriber admin: lists, people, their consent history, import, export, GDPR.

Consent rows are evidence and are shown read-only. People are not added by
hand (there would be no consent to show for them): they sign up, come through
the API, or are imported from a CSV with its consent source. The list leaves
the server only through the permissioned, logged CSV export.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst, format_lazy
from django.utils.translation import get_language_info, ngettext
from django.utils.translation import gettext_lazy as _

from subscribers.dates import check_form_dates
from subscribers.importing import COLUMNS, ImportFailed, import_csv
from subscribers.models import EXPORT_PERMISSION, Consent, MailingList, Subscriber, Subscription
from subscribers.services import leaving
from subscribers.services.signup import InvalidSignup, clean_name
from subscribers.signals import log_staff_action
from subscribers.spreadsheets import neutralise_cell
from subscribers.text import SafeTextValidator

# Read-only facts that apps above add to a person's change page (campaigns:
# the emails received), appended in their AppConfig.ready(): functions of the
# subscriber returning HTML, labelled with @admin.display(description=…).
person_facts: list[Callable[[Subscriber], str]] = []


class SubscriberForm(forms.ModelForm):
    """Staff edit a name and a pause date: held to the same rules as the person's own form."""

    class Meta:
        model = Subscriber
        fields = ["name", "paused_until"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        check_form_dates(self)

    def clean_name(self) -> str:
        try:
            return clean_name(self.cleaned_data.get("name") or "")
        except InvalidSignup as problem:
            raise forms.ValidationError(problem.message) from None


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


class ImportForm(forms.Form):
    file = forms.FileField(label=_("CSV file"), help_text=_("UTF-8, with a header row: ") + ", ".join(COLUMNS))
    mailing_list = forms.ModelChoiceField(queryset=MailingList.objects.all(), required=False, label=_("Add to list"))
    new_list = forms.SlugField(
        required=False, max_length=60, label=_("…or create a list with this slug"), help_text=_("e.g. honduras")
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if bool(data.get("mailing_list")) == bool(data.get("new_list")):
            raise forms.ValidationError(_("Choose a list, or give the slug of a new one (not both)."))
        return data

    def list_slug(self) -> str:
        chosen = self.cleaned_data.get("mailing_list")
        return chosen.slug if chosen else self.cleaned_data["new_list"]


class _Echo:
    def write(self, value: str) -> str:
        return value


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    form = SubscriberForm
    list_display = ["email", "name", "language", "status", "tracking_allowed", "created_at"]
    list_display = ["email", "name", "language", "status", "tracking_allowed", "signed_up"]
    list_filter = ["status", "language", "lists", "tracking_allowed"]
    search_fields = ["email", "name"]
    # Counting a million rows on every page view is what makes admins slow.
    show_full_result_count = False
    list_per_page = 100
    date_hierarchy = "created_at"
    fields = [
        "email",
        "name",
        "language",
        "tracking_allowed",
        "paused_until",
        "status",
        "suppressed",
        "created_at",
        "confirmed_at",
        "unsubscribed_at",
        "last_confirmation_sent_at",
    ]
    readonly_fields = [
        "email",
        "status",
        "suppressed",
        "created_at",
        "confirmed_at",
        "unsubscribed_at",
        "last_confirmation_sent_at",
    ]
    inlines = [SubscriptionInline, ConsentInline]
    actions = ["unsubscribe_staff", "export_personal_data", "erase_selected", "export_csv"]

    # --- permissions -------------------------------------------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        # No one is added without consent evidence: sign-up, API or CSV import.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Deleting would lose the consent history; GDPR erasure is the way out.
        return False

    def has_export_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(EXPORT_PERMISSION)

    def has_erase_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("subscribers.delete_subscriber")

    def has_import_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("subscribers.add_subscriber")

    # --- read-only facts on the change page ---------------------------------

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [*super().get_fields(request, obj), *person_facts]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [*super().get_readonly_fields(request, obj), *person_facts]

    @admin.display(description=_("Signed up"), ordering="created_at")
    def signed_up(self, obj: Subscriber) -> str:
        # The day is enough in a list; the full date and time would push the table off the screen.
        return date_format(timezone.localtime(obj.created_at), "SHORT_DATE_FORMAT")

    @admin.display(description=_("Suppressed"), boolean=True)
    def suppressed(self, obj: Subscriber) -> bool:
        return leaving.is_suppressed(obj.email) if obj.pk else False

    def save_model(self, request: HttpRequest, obj: Subscriber, form: forms.ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and form.changed_data:
            # Staff edits belong in the same history as the person's own.
            Consent.objects.create(
                subscriber=obj,
                email=obj.email,
                action=Consent.Action.CHANGE,
                language=obj.language,
                source=Consent.Source.STAFF,
                channel=Consent.Channel.STAFF,
                lists=sorted(
                    obj.subscriptions.filter(status=Subscription.Status.ACTIVE).values_list(
                        "mailing_list__slug", flat=True
                    )
                ),
                detail=("staff changed: " + ", ".join(form.changed_data))[:255],
                actor=request.user,  # type: ignore[misc]
                confirmed_at=timezone.now(),
            )

    # --- actions -------------------------------------------------------------

    @admin.action(description=_("Unsubscribe (staff)"), permissions=["change"])
    def unsubscribe_staff(self, request: HttpRequest, queryset: QuerySet[Subscriber]) -> None:
        done = 0
        for subscriber in queryset.exclude(status=Subscriber.Status.ERASED):
            if leaving.unsubscribe(subscriber=subscriber, channel=Consent.Channel.STAFF, actor=request.user):
                done += 1
        self.message_user(
            request,
            ngettext("%(count)d person unsubscribed.", "%(count)d people unsubscribed.", done) % {"count": done},
            messages.SUCCESS,
        )

    @admin.action(description=_("GDPR: export personal data (JSON download)"), permissions=["export"])
    def export_personal_data(self, request: HttpRequest, queryset: QuerySet[Subscriber]) -> HttpResponse:
        people = list(queryset.order_by("pk"))
        data: dict[str, Any]
        with transaction.atomic():
            if len(people) == 1:
                data = leaving.export_personal_data(people[0])
                filename = f"personal-data-{people[0].pk}.json"
            else:
                data = {"subscribers": [leaving.export_personal_data(person) for person in people]}
                filename = f"personal-data-{len(people)}-people.json"
            log_staff_action(
                actor=request.user,
                action="export_personal_data",
                detail="subscriber ids: " + ", ".join(str(person.pk) for person in people),
            )
        response = HttpResponse(
            json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False),
            content_type="application/json; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    @admin.action(description=_("GDPR: erase"), permissions=["erase"])
    def erase_selected(self, request: HttpRequest, queryset: QuerySet[Subscriber]) -> HttpResponse | None:
        people = list(queryset.exclude(status=Subscriber.Status.ERASED).order_by("pk"))
        if request.POST.get("confirm") != "yes":
            return TemplateResponse(
                request,
                "admin/subscribers/subscriber/erase_confirmation.html",
                {
                    **self.admin_site.each_context(request),
                    "title": _("Erase personal data?"),
                    "opts": self.model._meta,
                    "people": people,
                    "action": "erase_selected",
                    "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                },
            )
        for person in people:
            with transaction.atomic():
                leaving.erase(subscriber=person, actor=request.user)
                # The log names the row, never the address: erasure must not leave a copy.
                log_staff_action(actor=request.user, action="erase_subscriber", detail=f"subscriber #{person.pk}")
        self.message_user(
            request,
            ngettext("%(count)d person erased.", "%(count)d people erased.", len(people)) % {"count": len(people)},
            messages.SUCCESS,
        )
        return None

    @admin.action(description=_("Export selected to CSV (logged)"), permissions=["export"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Subscriber]) -> StreamingHttpResponse:
        count = queryset.count()
        log_staff_action(actor=request.user, action="export_subscribers", detail=f"{count} subscribers (CSV)")
        active = Prefetch(
            "subscriptions",
            queryset=Subscription.objects.filter(status=Subscription.Status.ACTIVE).select_related("mailing_list"),
            to_attr="active_subscriptions",
        )
        people = queryset.order_by("pk").prefetch_related(active)
        header = [
            "email",
            "name",
            "language",
            "status",
            "lists",
            "tracking_allowed",
            "paused_until",
            "created_at",
            "confirmed_at",
        ]

        def rows() -> Iterator[str]:
            writer = csv.writer(_Echo())
            yield writer.writerow(header)
            for person in people.iterator(chunk_size=2000):
                slugs = " ".join(sorted(s.mailing_list.slug for s in person.active_subscriptions))  # type: ignore[attr-defined]
                yield writer.writerow(
                    [
                        neutralise_cell(value)
                        for value in (
                            person.email,
                            person.name,
                            person.language,
                            person.status,
                            slugs,
                            person.tracking_allowed,
                            person.paused_until,
                            person.created_at.isoformat(),
                            person.confirmed_at.isoformat() if person.confirmed_at else "",
                        )
                    ]
                )

        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="subscribers-{stamp}.csv"'
        return response

    # --- CSV import page -----------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="subscribers_subscriber_import",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra_context = {**(extra_context or {}), "can_import": self.has_import_permission(request)}
        return super().changelist_view(request, extra_context)

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_import_permission(request):
            raise PermissionDenied
        form = ImportForm(request.POST or None, request.FILES or None)
        result = None
        errors: list[str] = []
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            stream = io.TextIOWrapper(upload.file, encoding="utf-8-sig", newline="")
            try:
                result = import_csv(stream, list_slug=form.list_slug(), filename=upload.name, actor=request.user)
            except ImportFailed as failed:
                errors = [str(problem) for problem in failed.errors[:500]]
                if len(failed.errors) > 500:
                    errors.append(str(_("…and %(count)d more.") % {"count": len(failed.errors) - 500}))
                errors.append(str(failed))
            else:
                log_staff_action(
                    actor=request.user,
                    action="import_subscribers",
                    detail=f"{upload.name[:100]} → {result.mailing_list.slug}: {result.summary()}",
                )
        return TemplateResponse(
            request,
            "admin/subscribers/subscriber/import.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Import subscribers from CSV"),
                "opts": self.model._meta,
                "form": form,
                "result": result,
                "skipped": [str(problem) for problem in result.skipped[:500]] if result else [],
                "errors": errors,
                "columns": COLUMNS,
                "changelist_url": reverse("admin:subscribers_subscriber_changelist"),
            },
        )
