"""Appeal reports: money raised per currency, exact to the cent, by language and by list, and as CSV."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from campaigns.models import Campaign, Delivery, DeliveryEvent
from donations.reports import appeal_report, csv_rows
from subscribers.models import MailingList, Subscription
from tests.campaigns.engine_helpers import make_campaign, make_list, make_people
from tests.campaigns.staff_helpers import staff, verified
from tests.donations.helpers import gift, started_appeal

pytestmark = pytest.mark.django_db


@pytest.fixture
def appeal():  # type: ignore[no-untyped-def]
    """An appeal delivered to 6 people on Peru (4 en, 2 es) and 2 of them also on "=HYPERLINK" list."""
    peru = make_list("peru")
    hostile = MailingList.objects.create(slug="hostile", name='=HYPERLINK("http://evil.example","x")')
    english = make_people(4, peru, prefix="en", language="en")
    spanish = make_people(2, peru, prefix="es", language="es")
    for person in english[:2]:
        Subscription.objects.create(subscriber=person, mailing_list=hostile)
    campaign = started_appeal(make_campaign([peru, hostile]))
    Delivery.objects.bulk_create(
        [
            Delivery(campaign=campaign, subscriber=p, status=Delivery.Status.SENT, language=p.language)
            for p in english + spanish
        ]
    )
    # Floats would make these 0.30000000000000004 and 0.6000000000000001.
    gift(english[0].email, "0.10", campaign=campaign)
    gift(english[0].email, "0.20", campaign=campaign)
    gift(english[1].email, "0.30", campaign=campaign)
    gift(spanish[0].email, "100.00", currency="PEN", campaign=campaign)
    gift("forwarded@example.org", "5.00", currency="USD", campaign=campaign)
    gift(english[2].email, "999.00")  # not attributed to this appeal
    return campaign


def test_money_is_summed_per_currency_exactly(appeal):
    report = appeal_report(appeal)

    money = {m.currency: m for m in report.total.money}
    assert money["USD"].total == Decimal("5.60")
    assert money["USD"].gifts == 4
    assert money["USD"].average == Decimal("1.40")
    assert money["PEN"].total == Decimal("100.00")
    assert report.total.gifts == 5
    assert report.total.delivered == 6
    assert report.total.conversion == pytest.approx(5 / 6)


def test_the_report_breaks_down_by_language_and_by_list(appeal):
    report = appeal_report(appeal)

    by_language = {s.key: s for s in report.by_language}
    assert by_language["en"].delivered == 4
    assert [(m.currency, m.total, m.gifts) for m in by_language["en"].money] == [("USD", Decimal("0.60"), 3)]
    assert by_language["en"].conversion == pytest.approx(3 / 4)
    assert [(m.currency, m.total) for m in by_language["es"].money] == [("PEN", Decimal("100.00"))]
    assert by_language[""].delivered == 0 and by_language[""].gifts == 1  # the forwarded email

    by_list = {s.label: s for s in report.by_list}
    assert by_list["Peru"].delivered == 6
    assert by_list["Peru"].gifts == 4
    hostile = by_list['=HYPERLINK("http://evil.example","x")']
    assert hostile.delivered == 2
    assert [(m.currency, m.total, m.gifts) for m in hostile.money] == [("USD", Decimal("0.60"), 3)]


def test_conversion_uses_provider_confirmed_deliveries_when_there_are_some(appeal):
    confirmed = Delivery.objects.filter(campaign=appeal).order_by("id")[:3]
    for number, delivery in enumerate(confirmed):
        DeliveryEvent.objects.create(
            delivery=delivery, campaign=appeal, kind=DeliveryEvent.Kind.DELIVERED, event_id=f"d{number}"
        )
    assert appeal_report(appeal).total.delivered == 3


def test_the_csv_export_neutralises_formula_payloads(appeal):
    rows = csv_rows(appeal_report(appeal))

    assert rows[0] == [
        "section",
        "segment",
        "currency",
        "gifts",
        "amount",
        "average_gift",
        "delivered",
        "conversion_rate",
    ]
    list_rows = [row for row in rows if row[0] == "list"]
    assert ["list", '\'=HYPERLINK("http://evil.example","x")', "USD", "3", "0.60", "0.20", "2", "1.5000"] in list_rows
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    assert ["total", "All recipients", "USD", "4", "5.60", "1.40", "6", "0.8333"] in rows


def test_an_appeal_without_gifts_reports_zero_not_an_error():
    campaign = make_campaign([make_list()], kind=Campaign.Kind.APPEAL)
    report = appeal_report(campaign)
    assert report.total.gifts == 0 and report.total.conversion is None
    assert len(csv_rows(report)) > 1


def test_staff_see_the_report_and_download_the_csv(appeal, client):
    user = staff("treasurer", None)
    user.is_superuser = True
    user.save()
    verified(client, user)

    page = client.get(reverse("admin:donations_appeal_report", args=[appeal.pk]))
    assert page.status_code == 200
    assert "5.60" in page.content.decode()

    export = client.get(reverse("admin:donations_appeal_report_csv", args=[appeal.pk]))
    assert export.status_code == 200
    assert export["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(export.content.decode())))
    assert ["total", "All recipients", "PEN", "1", "100.00", "100.00", "6", "0.8333"] in rows


def test_people_without_donation_permissions_cannot_see_the_report(appeal, client):
    verified(client, staff("writer", None))
    assert client.get(reverse("admin:donations_appeal_report", args=[appeal.pk])).status_code == 403
