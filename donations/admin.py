"""Donations in the admin: the list (with unmatched donors), the CSV import, the appeal report.

The import (django-import-export) shows a dry-run preview with a per-row
error report first; "Confirm import" appears only for a file with no bad
row, and commits it in one transaction. Rows go through the same checks as
``manage.py import_donations`` (donations/importing/). The import page
lists the columns and their formats (``importing.GUIDE``) and offers a sample
file; the preview shows each gift as it will be written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from import_export import fields, resources
from import_export.admin import ImportMixin
from import_export.formats import base_formats

from campaigns.models import Campaign
from donations.importing import GUIDE, REQUIRED, find_recorded, parse_row, sample_csv
from donations.models import Donation
from donations.reports import appeal_report, write_csv
from donations.services import InvalidDonation, attribute, match_subscriber, relink_unmatched
from subscribers.dates import check_form_dates


def _campaign_shown(donation: Donation) -> str:
    if donation.campaign is not None:
        return donation.campaign.subject
    if donation.attribution_code:
        return _("%(code)s (outside the attribution window: not attributed)") % {"code": donation.attribution_code}
    return ""


class _Shown(fields.Field):
    """A column of the preview, showing the gift as it will be written.

    Rows are read by ``import_instance`` (through ``parse_row``), never by these
    fields; django-import-export uses them only to show the preview.
    """

    def __init__(self, column_name: str, show: Callable[[Donation], Any]) -> None:
        super().__init__(column_name=column_name, attribute=column_name)
        self.show = show

    def export(self, instance: Model, **kwargs: Any) -> str:
        value = self.show(cast(Donation, instance))  # only ever given the preview's donations
        return "" if value is None else str(value)


class DonationResource(resources.ModelResource):
    """One CSV row → one gift, checked by ``donations.importing.parse_row``."""

    email = _Shown("email", lambda gift: gift.donor_email)
    amount = _Shown("amount", lambda gift: gift.amount)
    currency = _Shown("currency", lambda gift: gift.currency)
    date = _Shown("date", lambda gift: timezone.localdate(gift.donated_at).isoformat() if gift.donated_at else "")
    reference = _Shown("reference", lambda gift: gift.reference)
    campaign = _Shown("campaign", _campaign_shown)
    recurring = _Shown("recurring", lambda gift: "true" if gift.recurring else "false")
    name = _Shown("name", lambda gift: gift.donor_name)
    provider = _Shown("provider", lambda gift: gift.provider)

    class Meta:
        model = Donation
        # Found by get_instance below (reference or identity), so a file need not have a reference column.
        import_id_fields: tuple[str, ...] = ()
        fields = ("email", "amount", "currency", "date", "reference", "campaign", "recurring", "name", "provider")

    def before_import(self, dataset: Any, **kwargs: Any) -> None:
        dataset.headers = [str(header or "").strip().lower().lstrip("\ufeff") for header in dataset.headers]
        missing = [column for column in REQUIRED if column not in dataset.headers]
        if missing:
            raise ValueError(_("Missing column(s): %(columns)s.") % {"columns": ", ".join(missing)})

    def get_instance(self, instance_loader: Any, row: dict[str, Any]) -> Donation | None:
        # The same rule as manage.py import_donations: by reference, or by
        # address, amount, currency and date when either gift has no reference.
        try:
            gift = parse_row(0, row)
        except InvalidDonation:
            return None  # import_instance reports the row's problems
        return find_recorded(gift)

    def import_instance(self, instance: Donation, row: dict[str, Any], **kwargs: Any) -> None:
        line = int(kwargs.get("row_number") or 0) + 1  # the header is line 1
        try:
            gift = parse_row(line, row)
        except InvalidDonation as bad:
            raise ValidationError(bad.errors) from None
        if instance.pk is not None:
            # Already recorded (in the database or earlier in this file): the
            # same gift is skipped, a different one sharing its id is an error.
            if gift.reference and instance.reference == gift.reference and not gift.same_gift(instance):
                raise ValidationError(
                    {
                        "reference": [
                            _("Already recorded for a different gift (donation #%(id)d).") % {"id": instance.pk}
                        ]
                    }
                )
            return
        instance.donor_email = gift.email
        instance.donor_name = gift.name
        instance.amount = gift.amount
        instance.currency = gift.currency
        instance.donated_at = gift.donated_at
        instance.reference = gift.reference
        instance.recurring = gift.recurring
        instance.provider = gift.provider
        instance.attribution_code = gift.code
        instance.campaign = attribute(code=gift.code, donated_at=gift.donated_at, campaign=gift.campaign)
        instance.subscriber = match_subscriber(gift.email)
        instance.source = Donation.Source.IMPORT

    def skip_row(self, instance: Donation, original: Any, row: Any, import_validation_errors: Any = None) -> bool:
        return not import_validation_errors and instance.pk is not None


class MatchedFilter(admin.SimpleListFilter):
    title = _("donor")
    parameter_name = "matched"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("Matched to a subscriber")), ("no", _("Unmatched donors"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Donation]) -> QuerySet[Donation]:
        if self.value() == "yes":
            return queryset.filter(subscriber__isnull=False)
        if self.value() == "no":
            return queryset.filter(subscriber__isnull=True)
        return queryset


@admin.register(Donation)
class DonationAdmin(ImportMixin, admin.ModelAdmin):  # type: ignore[misc]  # the two stubs type change_list_template apart
    titles = {"add": _("Add a donation"), "change": _("Edit donation"), "view": _("View donation")}
    resource_classes = [DonationResource]
    import_formats = [base_formats.CSV]
    import_template_name = "admin/donations/donation/import.html"
    list_display = ("donated_at", "amount", "currency", "donor_email", "subscriber", "recurring", "campaign", "source")
    list_filter = (
        MatchedFilter,
        "source",
        "recurring",
        "currency",
        "provider",
        ("campaign", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = ("donor_email", "donor_name", "reference", "attribution_code")
    date_hierarchy = "donated_at"
    raw_id_fields = ("subscriber", "campaign")
    readonly_fields = ("created_at",)
    list_select_related = ("subscriber", "campaign")
    actions = ["match_again"]

    def has_import_permission(self, request: HttpRequest) -> bool:
        return self.has_add_permission(request)

    def get_import_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_import_context_data(**kwargs), "columns": GUIDE}

    def import_sample(self, request: HttpRequest) -> HttpResponse:
        if not self.has_import_permission(request):
            raise PermissionDenied
        response = HttpResponse(sample_csv(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="gifts-sample.csv"'
        return response

    def process_dataset(self, dataset: Any, form: Any, request: HttpRequest, **kwargs: Any) -> Any:
        # All or nothing at commit too: a row that turned bad since the preview
        # (a webhook recorded its reference meanwhile) rolls back the whole file.
        kwargs.setdefault("rollback_on_validation_errors", True)
        return super().process_dataset(dataset, form, request, **kwargs)

    @admin.action(description=_("Match unmatched donors to subscribers again"))
    def match_again(self, request: HttpRequest, queryset: QuerySet[Donation]) -> None:
        matched = relink_unmatched()
        self.message_user(
            request, _("%(count)d gift(s) matched to a subscriber.") % {"count": matched}, messages.SUCCESS
        )

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        check_form_dates(form)  # a gift in year 9999 would break every report that reads it
        return form

    def save_model(self, request: HttpRequest, obj: Donation, form: Any, change: bool) -> None:
        if not change:
            obj.source = obj.source or Donation.Source.MANUAL
            if obj.subscriber is None and obj.donor_email:
                obj.subscriber = match_subscriber(obj.donor_email)
        super().save_model(request, obj, form, change)

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("import/sample.csv", view(self.import_sample), name="donations_donation_import_sample"),
            path("appeal/<int:campaign_id>/", view(self.appeal_report_view), name="donations_appeal_report"),
            path("appeal/<int:campaign_id>/csv/", view(self.appeal_report_csv), name="donations_appeal_report_csv"),
            *super().get_urls(),
        ]

    def _report(self, request: HttpRequest, campaign_id: int) -> Any:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return appeal_report(get_object_or_404(Campaign, pk=campaign_id))

    def appeal_report_view(self, request: HttpRequest, campaign_id: int) -> TemplateResponse:
        report = self._report(request, campaign_id)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Money raised: %(subject)s") % {"subject": report.campaign},
            "report": report,
            "summary": [report.recipients, report.others],
            "all_gifts": sum(money.gifts for money in report.total),
            "sections": [
                (_("Recipients by language"), report.by_language),
                (_("Recipients by list"), report.by_list),
            ],
        }
        return TemplateResponse(request, "donations/appeal_report.html", context)

    def appeal_report_csv(self, request: HttpRequest, campaign_id: int) -> HttpResponse:
        report = self._report(request, campaign_id)
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="appeal-{report.campaign.pk}-donations.csv"'
        write_csv(report, response)
        return response
