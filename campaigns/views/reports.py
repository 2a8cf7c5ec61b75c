"""The per-campaign report page in the admin, and its CSV export.

Staff only (wrapped in ``admin.site.admin_view`` in config/urls.py). The CSV
holds addresses, so it needs the export permission and is written to the
audit log: the subscriber list leaves the server only through a logged,
permissioned export.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from datetime import timedelta

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import Campaign, DeliveryEvent
from campaigns.reports.ab_tests import ab_test_report
from campaigns.reports.charts import Series, axis_hour, line_chart
from campaigns.reports.figures import TIMELINE_HOURS, CampaignReport, campaign_report
from campaigns.reports.problems import problem_rows
from campaigns.reports.trails import trail_for
from campaigns.staff import audit
from campaigns.staff.roles import EXPORT_PERMISSION
from subscribers.spreadsheets import neutralise_cell

PROBLEMS_ON_PAGE = 200
_ADDRESS = re.compile(r"[^\s<>()\[\]\"',;:@]+@[^\s<>()\[\]\"',;:@]+")


def _chart(report: CampaignReport) -> str:
    # Deliveries are left out: their spike in the first minutes flattens everything else.
    labels = {
        DeliveryEvent.Kind.OPENED: (_("Opens (approx.)"), "#2b6cb0"),
        DeliveryEvent.Kind.CLICKED: (_("Clicks"), "#2f855a"),
        DeliveryEvent.Kind.BOUNCED: (_("Hard bounces"), "#d69e2e"),
        DeliveryEvent.Kind.COMPLAINED: (_("Complaints"), "#c53030"),
    }
    series = [
        Series(str(label), report.timeline.get(kind, []), color)
        for kind, (label, color) in labels.items()
        if report.tracked or kind not in (DeliveryEvent.Kind.OPENED, DeliveryEvent.Kind.CLICKED)
    ]
    x_labels = []
    if report.timeline_start is not None:
        start = timezone.localtime(report.timeline_start).replace(minute=0, second=0, microsecond=0)
        for hour in range(0, TIMELINE_HOURS, 12):
            x_labels.append((hour, axis_hour(start + timedelta(hours=hour))))
    return line_chart(series, title=_("People per hour (first open, first click…), first 72 hours"), x_labels=x_labels)


def _campaign_for(request: HttpRequest, pk: int) -> Campaign:
    if not request.user.has_perm("campaigns.view_campaign"):
        raise PermissionDenied
    return get_object_or_404(Campaign, pk=pk)


def _hide_addresses(text: str) -> str:
    return _ADDRESS.sub(_("(address hidden)"), text)


def _any_problem(data: CampaignReport) -> bool:
    return any((data.failed, data.unknown, data.hard_bounces, data.soft_bounces, data.rejected, data.complaints))


def report(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _campaign_for(request, pk)
    data = campaign_report(campaign)
    problems = list(problem_rows(campaign, limit=PROBLEMS_ON_PAGE + 1))
    kind_labels = dict(DeliveryEvent.Kind.choices)
    # Who bounced or complained is subscriber data: on screen, like in the
    # CSV, only for staff who may export it (a bounce's reason often quotes the address).
    can_export = request.user.has_perm(EXPORT_PERMISSION)
    for delivery in problems:  # display labels for the rows on the page only
        delivery.event_label = kind_labels.get(delivery.event_kind, "")
        reason = delivery.event_reason or delivery.error or ""
        delivery.shown_reason = reason if can_export else _hide_addresses(reason)
    context = {
        **admin.site.each_context(request),
        "title": _("Report: %(subject)s") % {"subject": campaign},
        "campaign": campaign,
        "opts": Campaign._meta,
        "report": data,
        "chart": _chart(data),
        "problems": problems[:PROBLEMS_ON_PAGE],
        "more_problems": len(problems) > PROBLEMS_ON_PAGE,
        # Rolled up before problem lines were kept (migration 0013): the figures say there were some.
        "problems_lost": not problems and data.rolled_up_at is not None and _any_problem(data),
        "can_export": can_export,
        "ab": ab_test_report(campaign),
        # A journey's email leads back to its step of the journey (campaigns/reports/trails.py).
        "trail": trail_for(campaign),
    }
    return TemplateResponse(request, "admin/campaigns/report.html", context)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_rows(report_data: CampaignReport) -> Iterator[list[str]]:
    yield ["section", "name", "value", "status", "event", "reason", "when"]
    for name, value in report_data.figures():
        yield ["figure", name, str(value), "", "", "", ""]
    for link in report_data.top_links:
        yield ["link", neutralise_cell(link["url"]), str(link["unique"]), "", "", "", ""]
    # The same lines before and after the campaign's ledger is rolled up (campaigns/reports/problems.py).
    for delivery in problem_rows(report_data.campaign):
        yield [
            "problem",
            neutralise_cell(delivery.subscriber.email),
            "",
            delivery.status,
            delivery.event_kind or "",
            neutralise_cell(delivery.event_reason or delivery.error),
            delivery.occurred_at.isoformat() if delivery.occurred_at else "",
        ]


def report_csv(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    campaign = _campaign_for(request, pk)
    if not request.user.has_perm(EXPORT_PERMISSION):
        raise PermissionDenied
    data = campaign_report(campaign)
    audit.record(actor=request.user, action=audit.EXPORTED, campaign=campaign, detail="campaign report CSV")
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse((writer.writerow(row) for row in _csv_rows(data)), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="campaign-{campaign.pk}-report.csv"'
    return response
