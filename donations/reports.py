"""Appeal reports: money raised, gifts, average gift and conversion, overall, by language and by list.

Every figure is an aggregate query (SUM/COUNT … GROUP BY), never a loop over
gifts. Money is summed per currency (never across: 10 USD + 10 EUR is not 20
of anything) and in SQL decimals, so the totals are exact to the cent.

Gifts from recipients (people the appeal was sent to) are kept apart from
gifts by others (a forwarded email, a new donor, an address we do not know):
the money of both counts, but conversion is among recipients only: recipients
who gave / recipients it was delivered to. "Delivered" is the campaign
report's (campaigns/reports/figures.py): accepted by the receiving mail server, as the
provider reports it; when it reports none (SMTP), conversion is out of the
emails sent, and the report says so. A donor on two of the appeal's lists
counts in both lists' rows.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import BigIntegerField, Count, Exists, F, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Cast, Round
from django.utils.translation import gettext as _

from campaigns.models import Campaign, Delivery
from campaigns.reports.figures import delivered_deliveries
from donations.models import DECIMAL_PLACES, Donation
from subscribers.models import Language, MailingList
from subscribers.spreadsheets import neutralise_cell

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Money:
    currency: str
    total: Decimal
    gifts: int

    @property
    def average(self) -> Decimal:
        return (self.total / self.gifts).quantize(CENT, rounding=ROUND_HALF_UP) if self.gifts else Decimal(0)


@dataclass
class Segment:
    key: str
    label: str
    # Recipients it reached (delivered, or sent when deliveries are not
    # reported); None for gifts by others, who were not sent the appeal.
    reached: int | None = None
    donors: int = 0
    money: list[Money] = field(default_factory=list)

    @property
    def gifts(self) -> int:
        return sum(money.gifts for money in self.money)

    @property
    def conversion(self) -> float | None:
        return self.donors / self.reached if self.reached else None

    @property
    def conversion_percent(self) -> float | None:
        return None if self.conversion is None else 100 * self.conversion


@dataclass
class AppealReport:
    campaign: Campaign
    # True: "reached" counts deliveries the provider confirmed; False: it
    # reports none (plain SMTP), so "reached" counts the emails sent.
    delivered_reported: bool
    recipients: Segment
    others: Segment
    total: list[Money]
    by_language: list[Segment]
    by_list: list[Segment]


def _money_of(row: dict[str, Any]) -> Money:
    return Money(row["currency"], Decimal(row["cents"] or 0).scaleb(-DECIMAL_PLACES), row["gifts"])


def _money(rows: Any, key: str) -> dict[Any, list[Money]]:
    found: dict[Any, list[Money]] = {}
    for row in rows:
        found.setdefault(row[key], []).append(_money_of(row))
    return found


# SQLite keeps decimals as floats and sums them as floats (0.1 + 0.2 ≠ 0.3),
# and Django rounds only plain columns back: so sum whole cents, exact on
# SQLite and Postgres alike.
_CENTS = Sum(Cast(Round(F("amount") * 10**DECIMAL_PLACES), output_field=BigIntegerField()))


def _sums(queryset: QuerySet[Any], *group: str) -> QuerySet[Any]:
    return queryset.values(*group, "currency").annotate(cents=_CENTS, gifts=Count("id")).order_by(*group, "currency")


def _donors(queryset: QuerySet[Any], group: str) -> dict[Any, int]:
    rows = queryset.values(group).annotate(n=Count("subscriber", distinct=True)).order_by()
    return {row[group]: row["n"] for row in rows}


def appeal_report(campaign: Campaign) -> AppealReport:
    gifts = Donation.objects.filter(campaign=campaign)
    sent = Delivery.objects.filter(campaign=campaign, status=Delivery.Status.SENT)
    delivered = delivered_deliveries(campaign)
    reached = sent if delivered is None else delivered
    # A recipient: someone the appeal was sent to (the gift matched to them by address).
    received = Delivery.objects.filter(
        campaign=campaign, status=Delivery.Status.SENT, subscriber=OuterRef("subscriber")
    )
    from_recipients = gifts.filter(Exists(received))
    from_others = gifts.exclude(Exists(received))

    recipients = Segment(
        "recipients",
        _("Recipients of the appeal"),
        reached=reached.count(),
        donors=from_recipients.aggregate(n=Count("subscriber", distinct=True))["n"],
        money=[_money_of(row) for row in _sums(from_recipients)],
    )
    others = Segment("others", _("Others (not recipients)"), money=[_money_of(row) for row in _sums(from_others)])

    language_of_recipient = Subquery(received.values("language")[:1])
    by_language_gifts = from_recipients.annotate(recipient_language=language_of_recipient)
    by_language_money = _money(_sums(by_language_gifts, "recipient_language"), "recipient_language")
    donors_by_language = _donors(by_language_gifts, "recipient_language")
    reached_by_language = dict(
        reached.values_list("language").annotate(n=Count("id")).order_by().values_list("language", "n")
    )
    labels = dict(Language.choices)
    by_language = [
        Segment(
            code,
            str(labels.get(code, code)),
            reached_by_language.get(code, 0),
            donors_by_language.get(code, 0),
            by_language_money.get(code, []),
        )
        for code in sorted(set(reached_by_language) | set(by_language_money))
    ]

    lists = list(MailingList.objects.filter(campaigns=campaign).order_by("position", "name"))
    list_ids = [mailing.pk for mailing in lists]
    on_list = "subscriber__subscriptions__mailing_list"
    by_list_gifts = from_recipients.filter(**{f"{on_list}__in": list_ids})
    by_list_money = _money(_sums(by_list_gifts, on_list), on_list)
    donors_by_list = _donors(by_list_gifts, on_list)
    reached_by_list = dict(
        reached.filter(**{f"{on_list}__in": list_ids})
        .values(on_list)
        .annotate(n=Count("id"))
        .order_by()
        .values_list(on_list, "n")
    )
    by_list = [
        Segment(
            str(mailing.pk),
            mailing.name,
            reached_by_list.get(mailing.pk, 0),
            donors_by_list.get(mailing.pk, 0),
            by_list_money.get(mailing.pk, []),
        )
        for mailing in lists
    ]
    return AppealReport(
        campaign=campaign,
        delivered_reported=delivered is not None,
        recipients=recipients,
        others=others,
        total=[_money_of(row) for row in _sums(gifts)],
        by_language=by_language,
        by_list=by_list,
    )


CSV_HEADER = (
    "section",
    "segment",
    "currency",
    "gifts",
    "amount",
    "average_gift",
    "donors",
    "reached",
    "reached_means",
    "conversion_rate",
)


def csv_rows(report: AppealReport) -> list[list[str]]:
    rows: list[list[str]] = [list(CSV_HEADER)]
    reached_means = "delivered" if report.delivered_reported else "sent"
    total = Segment("total", _("All gifts"), money=report.total)
    sections = [
        ("total", [total]),
        ("recipients", [report.recipients]),
        ("others", [report.others]),
        ("language", report.by_language),
        ("list", report.by_list),
    ]
    for section, segments in sections:
        for segment in segments:
            conversion = "" if segment.conversion is None else f"{segment.conversion:.4f}"
            reached = "" if segment.reached is None else segment.reached
            donors = "" if section in {"total", "others"} else segment.donors
            for money in segment.money or [Money("", Decimal(0), 0)]:
                cells = [
                    section,
                    segment.label,
                    money.currency,
                    money.gifts,
                    money.total,
                    money.average,
                    donors,
                    reached,
                    reached_means if reached != "" else "",
                    conversion,
                ]
                rows.append([neutralise_cell(cell) for cell in cells])
    return rows


def write_csv(report: AppealReport, out: Any) -> None:
    """Write the report to ``out`` (a text file, or an HttpResponse)."""
    writer = csv.writer(out)
    writer.writerows(csv_rows(report))
