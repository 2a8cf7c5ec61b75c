"""Appeal reports: money raised per currency, exact to the cent, by language and by list, and as CSV."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from anymail.signals import AnymailTrackingEvent, EventType
from django.urls import reverse
from django.utils import timezone

from campaigns.events.recording import record_first_party_event, record_provider_event
from campaigns.models import Campaign, Delivery, DeliveryEvent
from campaigns.reports.dashboard import last_campaigns
from campaigns.reports.figures import campaign_report
from donations.reports import appeal_report, csv_rows
from subscribers.models import MailingList, Subscriber, Subscription
from tests.support import personas
from tests.support.factories import gift, make_campaign, make_delivery, make_list, make_people, started_appeal
from tests.support.personas import bearer, staff, token_for, verified

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

    money = {m.currency: m for m in report.total}
    assert money["USD"].total == Decimal("5.60")
    assert money["USD"].gifts == 4
    assert money["USD"].average == Decimal("1.40")
    assert money["PEN"].total == Decimal("100.00")


def test_gifts_from_recipients_are_kept_apart_from_gifts_by_others(appeal):
    outsider = Subscriber.objects.create(email="not-sent@example.org", status=Subscriber.Status.CONFIRMED)
    gift(outsider.email, "7.00", campaign=appeal, subscriber=outsider)  # a subscriber, but not a recipient

    report = appeal_report(appeal)

    recipients, others = report.recipients, report.others
    assert [(m.currency, m.total, m.gifts) for m in recipients.money] == [
        ("PEN", Decimal("100.00"), 1),
        ("USD", Decimal("0.60"), 3),
    ]
    # Three of the six recipients gave (one of them twice): conversion counts people.
    assert (recipients.reached, recipients.donors) == (6, 3)
    assert recipients.conversion == pytest.approx(3 / 6)
    assert [(m.currency, m.total, m.gifts) for m in others.money] == [("USD", Decimal("12.00"), 2)]
    assert others.reached is None and others.conversion is None


def test_the_report_breaks_down_recipients_by_language_and_by_list(appeal):
    report = appeal_report(appeal)

    by_language = {s.key: s for s in report.by_language}
    assert set(by_language) == {"en", "es"}  # the forwarded gift is no language's
    assert (by_language["en"].reached, by_language["en"].donors) == (4, 2)
    assert [(m.currency, m.total, m.gifts) for m in by_language["en"].money] == [("USD", Decimal("0.60"), 3)]
    assert by_language["en"].conversion == pytest.approx(2 / 4)
    assert [(m.currency, m.total) for m in by_language["es"].money] == [("PEN", Decimal("100.00"))]

    by_list = {s.label: s for s in report.by_list}
    assert (by_list["Peru"].reached, by_list["Peru"].donors, by_list["Peru"].gifts) == (6, 3, 4)
    hostile = by_list['=HYPERLINK("http://evil.example","x")']
    assert (hostile.reached, hostile.donors) == (2, 2)
    assert [(m.currency, m.total, m.gifts) for m in hostile.money] == [("USD", Decimal("0.60"), 3)]


def test_conversion_is_out_of_provider_confirmed_deliveries_when_there_are_some(appeal):
    report = appeal_report(appeal)
    assert not report.delivered_reported and report.recipients.reached == 6  # SMTP: out of the emails sent

    confirmed = Delivery.objects.filter(campaign=appeal).order_by("id")[:3]
    for number, delivery in enumerate(confirmed):
        DeliveryEvent.objects.create(
            delivery=delivery, campaign=appeal, kind=DeliveryEvent.Kind.DELIVERED, event_id=f"d{number}"
        )

    report = appeal_report(appeal)
    assert report.delivered_reported
    assert report.recipients.reached == 3
    assert {s.key: s.reached for s in report.by_language} == {"en": 3, "es": 0}


def test_the_csv_export_neutralises_formula_payloads(appeal):
    rows = csv_rows(appeal_report(appeal))

    assert rows[0] == [
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
    ]
    list_rows = [row for row in rows if row[0] == "list"]
    hostile = '\'=HYPERLINK("http://evil.example","x")'
    assert ["list", hostile, "USD", "3", "0.60", "0.20", "2", "2", "sent", "1.0000"] in list_rows
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    assert ["total", "All gifts", "USD", "4", "5.60", "1.40", "", "", "", ""] in rows
    assert ["recipients", "Recipients of the appeal", "USD", "3", "0.60", "0.20", "3", "6", "sent", "0.5000"] in rows
    assert ["others", "Others (not recipients)", "USD", "1", "5.00", "5.00", "", "", "", ""] in rows


def test_an_appeal_without_gifts_reports_zero_not_an_error():
    campaign = make_campaign([make_list()], kind=Campaign.Kind.APPEAL)
    report = appeal_report(campaign)
    assert report.recipients.gifts == 0 and report.recipients.conversion is None and report.total == []
    assert len(csv_rows(report)) > 1


def test_staff_see_the_report_and_download_the_csv(appeal, client):
    user = staff("treasurer", None)
    user.is_superuser = True
    user.save()
    verified(client, user)

    page = client.get(reverse("admin:donations_appeal_report", args=[appeal.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "5.60" in html and "Recipients of the appeal" in html and "Others (not recipients)" in html
    assert '<th class="number">Sent</th>' in html  # nothing reported as delivered by plain SMTP
    assert "50.00&nbsp;%" in html

    export = client.get(reverse("admin:donations_appeal_report_csv", args=[appeal.pk]))
    assert export.status_code == 200
    assert export["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(export.content.decode())))
    assert [
        "recipients",
        "Recipients of the appeal",
        "PEN",
        "1",
        "100.00",
        "100.00",
        "3",
        "6",
        "sent",
        "0.5000",
    ] in rows


def test_people_without_donation_permissions_cannot_see_the_report(appeal, client):
    verified(client, staff("writer", None))
    assert client.get(reverse("admin:donations_appeal_report", args=[appeal.pk])).status_code == 403


def test_delivered_means_the_same_in_every_report(client):
    """The campaign report, the dashboard, the appeal report and the API: accepted by the receiving server."""
    campaign = started_appeal(make_campaign([make_list()]))
    deliveries = [make_delivery(f"p{i}@example.org", campaign=campaign, esp_message_id=f"m-{i}") for i in range(4)]
    record_first_party_event(delivery_id=deliveries[0].pk, kind=DeliveryEvent.Kind.OPENED)
    token = token_for(personas.writer())

    def figures() -> tuple[object, ...]:
        api = client.get(f"/api/v1/campaigns/{campaign.pk}", **bearer(token)).json()["counts"]
        [row] = [row for row in last_campaigns() if row["campaign"] == campaign]
        appeal = appeal_report(campaign)
        reached = appeal.recipients.reached if appeal.delivered_reported else None
        return campaign_report(campaign).delivered, reached, api["delivered"], row["open_rate"]

    # Plain SMTP: nothing is reported as delivered anywhere; rates are out of the 4 sent.
    assert figures() == (None, None, None, 1 / 4)

    for delivery in deliveries[:2]:
        event = AnymailTrackingEvent(
            event_type=EventType.DELIVERED, message_id=delivery.esp_message_id, timestamp=timezone.now(), esp_event={}
        )
        record_provider_event(event=event, esp_name="Postmark")

    assert figures() == (2, 2, 2, 1 / 2)
