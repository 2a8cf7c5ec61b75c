"""Appeal reports: money raised, gifts, average gift and conversion, overall, by language and by list.

Every figure is an aggregate query (SUM/COUNT … GROUP BY), never a loop over
gifts. Money is summed per currency (never across: 10 USD + 10 EUR is not 20
of anything) and in SQL decimals, so the totals are exact to the cent.

Conversion is gifts / delivered, where "delivered" follows the campaign
report (campaigns/reports.py): deliveries the provider confirmed when it
reports deliveries, else the ones handed over (SMTP). A donor on two of the
appeal's lists counts in both lists' rows; gifts from people who did not get
the appeal (a forwarded email) count in the totals under "unknown" language.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import BigIntegerField, Count, Exists, F, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Cast, Coalesce, Round
from django.utils.translation import gettext as _

from campaigns.models import Campaign, Delivery, DeliveryEvent
from donations.models import DECIMAL_PLACES, Donation
from subscribers.models import Language, MailingList

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
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
    delivered: int = 0
    money: list[Money] = field(default_factory=list)

    @property
    def gifts(self) -> int:
        return sum(money.gifts for money in self.money)

    @property
    def conversion(self) -> float | None:
        return self.gifts / self.delivered if self.delivered else None

    @property
    def conversion_percent(self) -> float | None:
        return None if self.conversion is None else 100 * self.conversion


@dataclass
class AppealReport:
    campaign: Campaign
    total: Segment
    by_language: list[Segment]
    by_list: list[Segment]


def delivered_deliveries(campaign: Campaign) -> QuerySet[Delivery]:
    deliveries = Delivery.objects.filter(campaign=campaign)
    delivered = DeliveryEvent.objects.filter(campaign=campaign, kind=DeliveryEvent.Kind.DELIVERED)
    if delivered.exists():
        return deliveries.filter(Exists(delivered.filter(delivery=OuterRef("pk"))))
    return deliveries.filter(status=Delivery.Status.SENT)


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


def appeal_report(campaign: Campaign) -> AppealReport:
    gifts = Donation.objects.filter(campaign=campaign)
    delivered = delivered_deliveries(campaign)

    total = Segment("", _("All recipients"), delivered=delivered.count())
    total.money = [_money_of(row) for row in _sums(gifts)]

    language_of_recipient = Delivery.objects.filter(campaign=campaign, subscriber=OuterRef("subscriber")).values(
        "language"
    )[:1]
    by_language_money = _money(
        _sums(
            gifts.annotate(recipient_language=Coalesce(Subquery(language_of_recipient), Value(""))),
            "recipient_language",
        ),
        "recipient_language",
    )
    delivered_by_language = dict(
        delivered.values_list("language").annotate(n=Count("id")).order_by().values_list("language", "n")
    )
    labels = dict(Language.choices)
    by_language = [
        Segment(
            code,
            str(labels.get(code, code)) if code else _("Unknown (not a recipient)"),
            delivered_by_language.get(code, 0),
            by_language_money.get(code, []),
        )
        for code in sorted(set(delivered_by_language) | set(by_language_money), key=lambda c: (c == "", c))
    ]

    lists = list(MailingList.objects.filter(campaigns=campaign).order_by("position", "name"))
    list_ids = [mailing.pk for mailing in lists]
    on_list = "subscriber__subscriptions__mailing_list"
    by_list_money = _money(_sums(gifts.filter(**{f"{on_list}__in": list_ids}), on_list), on_list)
    delivered_by_list = dict(
        delivered.filter(**{f"{on_list}__in": list_ids})
        .values(on_list)
        .annotate(n=Count("id"))
        .order_by()
        .values_list(on_list, "n")
    )
    by_list = [
        Segment(str(mailing.pk), mailing.name, delivered_by_list.get(mailing.pk, 0), by_list_money.get(mailing.pk, []))
        for mailing in lists
    ]
    return AppealReport(campaign=campaign, total=total, by_language=by_language, by_list=by_list)


def neutralise(value: Any) -> str:
    """A CSV cell a spreadsheet shows as text: formula-looking values get a leading quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


CSV_HEADER = ("section", "segment", "currency", "gifts", "amount", "average_gift", "delivered", "conversion_rate")


def csv_rows(report: AppealReport) -> list[list[str]]:
    rows: list[list[str]] = [list(CSV_HEADER)]
    sections = [("total", [report.total]), ("language", report.by_language), ("list", report.by_list)]
    for section, segments in sections:
        for segment in segments:
            conversion = "" if segment.conversion is None else f"{segment.conversion:.4f}"
            for money in segment.money or [Money("", Decimal(0), 0)]:
                cells = [
                    section,
                    segment.label,
                    money.currency,
                    money.gifts,
                    money.total,
                    money.average,
                    segment.delivered,
                    conversion,
                ]
                rows.append([neutralise(cell) for cell in cells])
    return rows


def write_csv(report: AppealReport, out: Any) -> None:
    """Write the report to ``out`` (a text file, or an HttpResponse)."""
    writer = csv.writer(out)
    writer.writerows(csv_rows(report))
