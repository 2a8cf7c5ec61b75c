"""People in the admin: their page, staff actions (unsubscribe, GDPR export and
erasure, the logged CSV export) and the CSV import.

People are not added by hand (there would be no consent to show for them):
they sign up, come through the API, or are imported from a CSV with its
consent source. The list leaves the server only through the permissioned,
logged CSV export.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from subscribers.admin.history import ConsentInline, SubscriptionInline
from subscribers.admin.suppressions import SuppressionImportMixin
from subscribers.dates import check_form_dates
from subscribers.importing import COLUMNS, ImportFailed, import_csv
from subscribers.models import EXPORT_PERMISSION, Consent, MailingList, Subscriber, Subscription
from subscribers.services import leaving, privacy
from subscribers.services.signup import InvalidSignup, clean_name
from subscribers.signals import log_staff_action
from subscribers.spreadsheets import neutralise_cell

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
class SubscriberAdmin(SuppressionImportMixin, admin.ModelAdmin):
    titles = {"add": _("Add a subscriber"), "change": _("Edit subscriber"), "view": _("View subscriber")}
    form = SubscriberForm
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
                data = privacy.export_personal_data(people[0])
                filename = f"personal-data-{people[0].pk}.json"
            else:
                data = {"subscribers": [privacy.export_personal_data(person) for person in people]}
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
                privacy.erase(subscriber=person, actor=request.user)
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
            *self.suppression_urls(),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "can_import": self.has_import_permission(request),
            "can_import_suppressions": self.has_suppression_import_permission(request),
        }
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
