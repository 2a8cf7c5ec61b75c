"""The per-campaign report page, its figures and its CSV export."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import redis
import time_machine
from django.utils import timezone

from campaigns.events.stats import rebuild_campaign_stats
from campaigns.models import AuditLog, Campaign, Delivery, DeliveryEvent
from campaigns.reports.figures import campaign_report
from config import health
from subscribers.models import MailingList, Subscriber
from tests.support.factories import make_delivery
from tests.support.personas import staff, verified
from tests.support.reports import add_event, build_sent_campaign

pytestmark = pytest.mark.django_db

Kind = DeliveryEvent.Kind


def test_the_report_counts_unique_people_per_event(sent_campaign):
    report = campaign_report(sent_campaign)

    assert (report.recipients, report.sent, report.failed) == (11, 10, 1)
    assert (report.delivered, report.hard_bounces, report.soft_bounces, report.complaints) == (8, 1, 1, 1)
    assert (report.unique_opens, report.unique_clicks) == (4, 2)
    assert report.open_rate == pytest.approx(4 / 8)
    assert report.top_links[0] == {"url": "https://example.org/lithium", "unique": 2, "total": 2}
    assert sum(report.timeline[Kind.OPENED]) == 4  # the chart shows first opens per hour
    assert report.complaint_warning  # 1 in 8 is far above 0.1 %


def test_the_report_is_computed_by_a_fixed_number_of_queries(sent_campaign, django_assert_max_num_queries):
    for i in range(30):
        add_event(make_delivery(f"more{i}@example.org", campaign=sent_campaign), Kind.DELIVERED)
    rebuild_campaign_stats(sent_campaign.pk)

    # Statuses from the ledger's counters; the untracked count as two index probes; SET LOCAL work_mem for links.
    with django_assert_max_num_queries(10):
        campaign_report(sent_campaign)


def test_staff_see_the_report_with_a_complaint_warning_and_a_chart(client, sent_campaign):
    verified(client, staff("sara", "sender"))

    response = client.get(f"/admin/campaigns/campaign/{sent_campaign.pk}/report/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "Spam complaints are too high" in page
    assert "Unique opens (approximate)" in page
    chart = page.split('class="report-chart">')[1].split("</div>")[0]
    assert chart.startswith("<svg") and "<polyline" in chart and "<script" not in chart
    assert "https://example.org/lithium" in page
    assert "550 5.1.1 user unknown" in page and "-550 relay refused" in page


def test_a_campaigns_report_breadcrumbs_lead_to_the_campaigns(client, sent_campaign):
    verified(client, staff("sara", "sender"))

    page = client.get(f"/admin/campaigns/campaign/{sent_campaign.pk}/report/").content.decode()

    breadcrumbs = " ".join(page.split('<div class="breadcrumbs">')[1].split("</div>")[0].split())
    assert breadcrumbs == (
        '<a href="/admin/">Home</a> &rsaquo; <a href="/admin/campaigns/">Campaigns</a> &rsaquo; Report'
    )


@pytest.mark.parametrize("role", ["writer", "sender"])
def test_staff_who_may_not_export_see_no_address_of_a_failed_or_complaining_recipient(client, sent_campaign, role):
    quoting = Delivery.objects.get(campaign=sent_campaign, subscriber__email="p7@example.org")
    add_event(quoting, Kind.BOUNCED, reason="smtp;550 5.1.1 The email account <p7@example.org> does not exist.")
    verified(client, staff("wren", role))

    page = client.get(f"/admin/campaigns/campaign/{sent_campaign.pk}/report/").content.decode()

    assert "550 5.1.1 user unknown" in page  # what went wrong is still there
    assert "The email account &lt;(address hidden)&gt; does not exist." in page
    for address in ("p0@example.org", "p7@example.org", "p8@example.org", "p9@example.org", "HYPERLINK"):
        assert address not in page
    assert "Addresses are shown only to staff who may export subscribers." in page


def test_staff_who_may_export_see_the_addresses_on_the_report(client, sent_campaign):
    verified(client, staff("alba", "admin"))

    page = client.get(f"/admin/campaigns/campaign/{sent_campaign.pk}/report/").content.decode()

    assert "p8@example.org" in page and "p0@example.org" in page


def test_a_campaign_with_tracking_off_reports_not_tracked_rather_than_zero(client, sent_campaign):
    Campaign.objects.filter(pk=sent_campaign.pk).update(tracking_enabled=False)
    verified(client, staff("sara", "sender"))

    page = client.get(f"/admin/campaigns/campaign/{sent_campaign.pk}/report/").content.decode()

    assert "not tracked" in page
    assert campaign_report(Campaign.objects.get(pk=sent_campaign.pk)).unique_opens is None


def test_without_delivery_reports_delivered_is_not_reported_rather_than_zero(client):
    """Plain SMTP: Tocsin knows what it handed over, not what the receiving servers accepted."""
    campaign = Campaign.objects.create(subject="Bulletin", status=Campaign.Status.SENT, started_at=timezone.now())
    deliveries = [make_delivery(f"p{i}@example.org", campaign=campaign) for i in range(4)]
    add_event(deliveries[0], Kind.COMPLAINED)
    rebuild_campaign_stats(campaign.pk)
    verified(client, staff("sara", "sender"))

    report = campaign_report(campaign)
    page = client.get(f"/admin/campaigns/campaign/{campaign.pk}/report/").content.decode()

    assert report.delivered is None and report.delivery_rate is None
    assert report.complaint_rate == pytest.approx(1 / 4)  # out of the emails sent
    card = page.split("Delivered</div>")[1].split('<div class="report-card">')[0]
    assert "not reported" in card and ">0<" not in card
    assert "25\u00a0% of sent" in page.split("Spam complaints</div>")[1].split('<div class="report-card">')[0]
    assert ("delivered", "not reported") in report.figures()
    assert "1 complaint: more than 0.1 % of the emails sent." in page


def test_a_campaign_to_a_list_with_tracking_off_reports_not_tracked(sent_campaign):
    sent_campaign.lists.add(MailingList.objects.create(slug="defenders", name="Defenders", tracking_enabled=False))

    report = campaign_report(sent_campaign)

    assert not report.tracked and report.unique_clicks is None and report.click_rate is None


def test_people_who_turned_tracking_off_are_left_out_of_the_rates(sent_campaign):
    Subscriber.objects.filter(email__in=["p6@example.org", "p7@example.org"]).update(tracking_allowed=False)

    report = campaign_report(sent_campaign)

    assert report.untracked_recipients == 2
    assert report.open_rate == pytest.approx(4 / 6)


def test_the_report_is_for_staff_only(client, sent_campaign):
    url = f"/admin/campaigns/campaign/{sent_campaign.pk}/report/"

    assert client.get(url).status_code == 302  # to the login page
    verified(client, staff("nobody", None))
    assert client.get(url).status_code == 403


def test_the_csv_export_needs_the_export_permission_and_is_audited(client, sent_campaign):
    url = f"/admin/campaigns/campaign/{sent_campaign.pk}/report.csv"
    verified(client, staff("sara", "sender"))
    assert client.get(url).status_code == 403

    verified(client, staff("alba", "admin"))
    response = client.get(url)

    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert ["figure", "delivered", "8", "", "", "", ""] in rows
    problem = next(row for row in rows if row[0] == "problem" and row[3] == "failed")
    assert problem[1] == "'=hyperlink(1)@example.org"
    assert problem[5] == "'-550 relay refused"
    assert AuditLog.objects.filter(action="exported", campaign=sent_campaign).exists()


# --- The dashboard on the admin index ---------------------------------------------


def test_the_admin_index_shows_growth_last_campaigns_suppressions_and_pipeline(client, sent_campaign, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens there: the page must not hang
    Subscriber.objects.filter(email="p9@example.org").update(
        status=Subscriber.Status.UNSUBSCRIBED, unsubscribed_at=timezone.now()
    )
    verified(client, staff("sara", "sender"))

    response = client.get("/admin/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "List growth" in page and "<rect" in page
    assert sent_campaign.subject in page
    assert f"/admin/campaigns/campaign/{sent_campaign.pk}/report/" in page
    assert "Sending pipeline" in page and "unreachable" in page


def test_the_dashboard_is_hidden_from_staff_who_cannot_see_campaigns(client, sent_campaign):
    verified(client, staff("nobody", None))

    page = client.get("/admin/").content.decode()

    assert "List growth" not in page


def test_the_dashboard_names_the_workers_whose_heartbeat_is_fresh_without_asking_them(client, own_broker):
    # No worker process runs: the dashboard reads the heartbeats workers write (config/health.py), as /readyz does.
    health.record_heartbeat("worker@host-1")
    now, _micro = redis.Redis.from_url(own_broker.url).time()
    redis.Redis.from_url(own_broker.url).zadd(health.HEARTBEAT_KEY, {"worker@gone": now - 61})
    verified(client, staff("sara", "sender"))

    page = client.get("/admin/").content.decode()
    row = page.split("Workers alive")[1].split("</tr>")[0]

    assert "worker@host-1" in row and ">1<" in row
    assert "worker@gone" not in row


def test_the_dashboard_says_no_worker_answers_when_none_beat_within_a_minute(client, own_broker):
    verified(client, staff("sara", "sender"))

    page = client.get("/admin/").content.decode()

    assert "none answering" in page.split("Workers alive")[1].split("</tr>")[0]


# --- Dates on the charts, in the reader's language ------------------------------------

AXIS_DATES = {
    "en": ["Dec 15", "Jan 12", "Feb 9"],
    "es": ["15 dic", "12 ene", "9 feb"],
    "fr": ["15 déc", "12 jan", "9 fév"],
}
AXIS_DAYS = {"en": ["Wed 12:00", "Thu 00:00"], "es": ["mié 12:00", "jue 00:00"], "fr": ["mer 12:00", "jeu 00:00"]}


def svg_in(page: str) -> str:
    """The chart: an SVG drawn on the server (campaigns/reports/charts.py), not one of the admin's icons."""
    start = page.index('<svg xmlns="http://www.w3.org/2000/svg"')
    return page[start : page.index("</svg>", start)]


@pytest.mark.parametrize("language", ["en", "es", "fr"])
def test_the_dashboard_chart_names_months_in_the_readers_language(client, settings, language):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    with time_machine.travel(datetime(2026, 2, 20, 12, tzinfo=ZoneInfo(settings.TIME_ZONE)), tick=False):
        verified(client, staff("sara", "sender"))
        chart = svg_in(client.get("/admin/", headers={"accept-language": language}).content.decode())

    for label in AXIS_DATES[language]:
        assert f">{label}<" in chart
    if language != "en":
        assert "Dec" not in chart and "Jan" not in chart


def test_the_dashboard_totals_keep_french_spacing(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    verified(client, staff("sara", "sender"))

    page = client.get("/admin/", headers={"accept-language": "fr"}).content.decode()

    # "Inscriptions: 6" would leave the colon to start a line on a phone.
    assert "Inscriptions\u00a0: 0" in page


@pytest.mark.parametrize("language", ["en", "es", "fr"])
def test_the_campaign_report_chart_names_weekdays_in_the_readers_language(client, settings, language):
    with time_machine.travel(datetime(2026, 2, 20, 12, tzinfo=ZoneInfo(settings.TIME_ZONE)), tick=False):
        campaign = build_sent_campaign()  # started two days ago: Wednesday noon
        verified(client, staff("sara", "sender"))
        page = client.get(f"/admin/campaigns/campaign/{campaign.pk}/report/", headers={"accept-language": language})
    chart = svg_in(page.content.decode())

    for label in AXIS_DAYS[language]:
        assert f">{label}<" in chart
    if language != "en":
        assert "Wed" not in chart


# --- What was and wasn't tracked -----------------------------------------------------


def test_the_report_names_the_list_that_turned_tracking_off(client, sent_campaign):
    sent_campaign.lists.add(MailingList.objects.create(slug="defenders", name="Defenders", tracking_enabled=False))
    verified(client, staff("sara", "sender"))

    page = client.get(f"/admin/campaigns/campaign/{sent_campaign.pk}/report/").content.decode()

    assert "Opens and clicks were not tracked for anyone: tracking is off on Defenders" in page


def test_the_report_says_how_many_recipients_were_tracked(client, sent_campaign):
    Subscriber.objects.filter(email__in=["p6@example.org", "p7@example.org"]).update(tracking_allowed=False)
    verified(client, staff("sara", "sender"))

    page = client.get(f"/admin/campaigns/campaign/{sent_campaign.pk}/report/").content.decode()

    assert "Opens and clicks were tracked for 6 of 8 recipients. 2 recipients were not tracked" in page
    assert "67\u00a0%" in page  # 4 of 6 tracked opened: rounded, not cut to 66 %


def test_the_dashboard_says_not_tracked_when_a_list_turned_tracking_off(client, sent_campaign, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    sent_campaign.lists.add(MailingList.objects.create(slug="defenders", name="Defenders", tracking_enabled=False))
    verified(client, staff("sara", "sender"))

    page = client.get("/admin/").content.decode()
    row = page.split(f"/admin/campaigns/campaign/{sent_campaign.pk}/report/")[1].split("</tr>")[0]

    assert row.count("not tracked") == 2
    assert "0\u00a0%" not in row.replace("10\u00a0%", "")  # the bounce rate (1 of 8 delivered) may show; opens may not


def test_the_dashboard_leaves_people_who_said_no_out_of_the_rates(client, sent_campaign, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    Subscriber.objects.filter(email__in=["p6@example.org", "p7@example.org"]).update(tracking_allowed=False)
    verified(client, staff("sara", "sender"))

    page = client.get("/admin/").content.decode()
    row = page.split(f"/admin/campaigns/campaign/{sent_campaign.pk}/report/")[1].split("</tr>")[0]

    assert "<td>67\u00a0%</td>" in row  # 4 opens of 6 tracked copies, not 4 of 8 (50 %)


# Written with a plain space here; the figure keeps its "%" on its line with a non-breaking one.
@pytest.mark.parametrize(
    ("rate", "shown"),
    [(0.1296, "13 %"), (0.125, "13 %"), (0.0196, "2.0 %"), (0.00266, "0.27 %"), (0.6666, "67 %"), (0, "0.00 %")],
)
def test_percentages_are_rounded_not_truncated(rate, shown):
    from campaigns.templatetags.tocsin_dashboard import percent

    assert percent(rate) == shown.replace(" ", "\u00a0")
