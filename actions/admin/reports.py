"""An action's report in the admin, and its CSV export (written to the audit log)."""

from __future__ import annotations

import csv
from collections.abc import Iterator

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from actions.models import Action, Signature
from actions.reports import ActionReport, action_report
from campaigns.reports.charts import Series, axis_date, bar_chart, line_chart
from campaigns.staff import audit
from subscribers.spreadsheets import neutralise_cell


def _action_for(request: HttpRequest, pk: int, permission: str) -> Action:
    if not request.user.has_perm(permission):
        raise PermissionDenied
    return get_object_or_404(Action, pk=pk)


def _charts(data: ActionReport) -> dict[str, str]:
    step = max(1, len(data.days) // 8)
    x_labels = [(i, axis_date(day)) for i, (day, _n) in enumerate(data.days) if i % step == 0]
    over_time = line_chart(
        [Series(_("Signatures"), [n for _day, n in data.days], "#2b6cb0")],
        title=_("Signatures per day"),
        x_labels=x_labels,
    )
    provinces = data.by_province[:13]
    by_province = bar_chart(
        [Series(_("Signatures"), [n for _p, n in provinces], "#2f855a")],
        title=_("Signatures by province"),
        x_labels=[(i, province or str(_("unknown"))) for i, (province, _n) in enumerate(provinces)],
        width=420,  # half the page: the labels keep their size
        height=220,
    )
    return {"over_time": over_time, "by_province": by_province}


def report(request: HttpRequest, pk: int) -> TemplateResponse:
    action = _action_for(request, pk, "actions.view_action")
    data = action_report(action)
    sources = dict(Signature.Source.choices)
    context = {
        **admin.site.each_context(request),
        "title": _("Report: %(title)s") % {"title": action.title},
        "action": action,
        "opts": Action._meta,
        "report": data,
        "sources": [(sources.get(source, source), n) for source, n in data.by_source],
        "charts": _charts(data) if data.total else {},
        "can_export": request.user.has_perm("actions.view_signature"),
    }
    return TemplateResponse(request, "admin/actions/report.html", context)


def _csv_rows(data: ActionReport) -> Iterator[list[object]]:
    yield ["section", "name", "detail", "value", "sent", "failed", "pending", "unknown", "by_hand", "bounces"]
    for name, value in data.figures():
        yield ["figure", name, "", value, "", "", "", "", "", ""]
    for day, n in data.days:
        yield ["day", day.isoformat(), "", n, "", "", "", "", "", ""]
    for province, n in data.by_province:
        yield ["province", province, "", n, "", "", "", "", "", ""]
    for row in data.by_district:
        yield ["district", row["code"], row["name"], row["count"], "", "", "", "", "", ""]
    for row in data.letters:
        yield [
            "target",
            row["target"],
            row["email"],
            "",
            row["sent"],
            row["failed"],
            row["pending"],
            row["unknown"],
            row["by_hand"],
            row["bounce_reason"] if row["bouncing_since"] else "",
        ]


def report_csv(request: HttpRequest, pk: int) -> HttpResponse:
    action = _action_for(request, pk, "actions.view_signature")
    data = action_report(action)
    audit.record(actor=request.user, action=audit.EXPORTED, detail=f"action report (CSV): action {action.slug}")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{action.slug}-report.csv"'
    writer = csv.writer(response)
    for row in _csv_rows(data):
        # Names of districts and targets come from imported files: a formula there must stay text.
        writer.writerow([neutralise_cell(cell) for cell in row])
    return response
