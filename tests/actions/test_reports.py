"""Reports per action (admin, server-side SVG, CSV audited) and the campaign report's "acted" line."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from actions.models import Letter, Signature
from actions.personal import personal_url
from actions.reports import action_report
from campaigns.events.recording import record_first_party_event
from campaigns.models import AuditLog, Campaign, Delivery, DeliveryEvent
from campaigns.reports.figures import campaign_report
from subscribers.models import Consent, Subscriber
from tests.support.factories import district, letter, petition, riding_map, target
from tests.support.personas import staff, verified

pytestmark = pytest.mark.django_db


def sign(action, email, *, days_ago=0, **fields):  # type: ignore[no-untyped-def]
    signature = Signature.objects.create(action=action, email=email, name=email.split("@")[0], **fields)
    if days_ago:
        Signature.objects.filter(pk=signature.pk).update(created_at=timezone.now() - timedelta(days=days_ago))
    return signature


@pytest.fixture
def written():  # type: ignore[no-untyped-def]
    ridings = riding_map()
    quebec = district("24001", "Gaspé Sud", "G4X", province="QC")
    target("=cmd|' /C calc'!A0", "evil@parl.example", in_district=quebec, title="MP")
    action = letter()
    for i in range(3):
        s = sign(action, f"on{i}@example.org", district=ridings["north"], days_ago=i)
        Letter.objects.create(action=action, signature=s, target=ridings["mp_north"], status="sent")
    s = sign(action, "qc@example.org", district=quebec, days_ago=5)
    Letter.objects.create(action=action, signature=s, target=ridings["mp_east"], status="failed")
    Letter.objects.create(action=action, signature=s, target=ridings["mp_west"], status="pending")
    sign(action, "nowhere@example.org")
    # Two people ticked a list: one confirmed since, one has not yet; one was a subscriber already.
    for email, status in (("new1@example.org", "confirmed"), ("new2@example.org", "pending")):
        consent = Consent.objects.create(subscriber=Subscriber.objects.create(email=email, status=status))
        signature = sign(action, email)
        Signature.objects.filter(pk=signature.pk).update(
            consent=consent, subscriber=consent.subscriber, created_at=consent.subscriber.created_at
        )
    old = Subscriber.objects.create(email="old@example.org", status="confirmed")
    Subscriber.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=300))
    Signature.objects.filter(pk=sign(action, "old@example.org").pk).update(
        subscriber=old, consent=Consent.objects.create(subscriber=old)
    )
    return action


def test_the_report_counts_by_day_district_province_source_and_target(written):
    data = action_report(written)

    assert data.total == 8
    assert sum(n for _day, n in data.days) == 8 and len(data.days) == 6  # five days ago to today
    assert dict(data.by_province) == {"ON": 3, "QC": 1, "": 4}
    assert {row["code"]: row["count"] for row in data.by_district}["90001"] == 3
    assert (data.new_subscribers, data.awaiting_confirmation) == (1, 1)
    per_target = {row["target"]: row for row in data.letters}
    assert per_target["Ana Tremblay"]["sent"] == 3
    assert (per_target["Ben Okafor"]["failed"], per_target["Chloé Roy"]["pending"]) == (1, 1)
    assert data.letter_totals == {"sent": 3, "failed": 1, "pending": 1, "unknown": 0, "by_hand": 0}


def test_staff_see_the_report_with_svg_charts(client, written):
    verified(client, staff("wren", "writer"))
    response = client.get(f"/admin/actions/action/{written.pk}/report/")
    assert response.status_code == 200
    page = response.content.decode()
    charts = page.split('class="report-chart">')[1:]
    assert len(charts) == 2 and all(chart.startswith("<svg") and "<script" not in chart[:5000] for chart in charts)
    assert "<polyline" in charts[0] and "<rect" in charts[1]
    assert "Rideau North" in page and "Letters per target" in page and "New subscribers gained" in page


def test_the_province_chart_names_signatures_without_a_province_as_its_table_does(client, written):
    verified(client, staff("wren", "writer"))
    client.cookies["django_language"] = "fr"
    page = client.get(f"/admin/actions/action/{written.pk}/report/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()

    by_province = page.split('class="report-chart">')[2].split("</svg>")[0]
    assert ">inconnu<" in by_province
    assert ">?<" not in by_province


def test_signatures_on_a_single_day_still_show_in_the_chart(client):
    action = petition(opened_at=timezone.now())
    sign(action, "r0@example.org")
    verified(client, staff("wren", "writer"))

    page = client.get(f"/admin/actions/action/{action.pk}/report/").content.decode()

    over_time = page.split('class="report-chart">')[1].split("</svg>")[0]
    assert "<circle" in over_time  # one day is one point: a line of one point draws nothing


def test_the_report_of_an_action_nobody_signed_yet_says_so(client):
    verified(client, staff("wren", "writer"))
    response = client.get(f"/admin/actions/action/{petition().pk}/report/")
    assert response.status_code == 200 and "No signatures yet." in response.content.decode()


def test_the_csv_neutralises_formulas_and_is_written_to_the_audit_log(client, written):
    url = f"/admin/actions/action/{written.pk}/report.csv"
    district("99999", "=SUM(A1:A9)", "H0H", province="+QC")
    sign(written, "formula@example.org", district_id=district("99999").pk)
    verified(client, staff("nobody", None))
    assert client.get(url).status_code == 403
    verified(client, staff("sara", "sender"))

    response = client.get(url)

    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert ["figure", "signatures", "", "9", "", "", "", "", "", ""] in rows
    assert ["district", "99999", "'=SUM(A1:A9)", "1", "", "", "", "", "", ""] in rows
    assert ["province", "'+QC", "", "1", "", "", "", "", "", ""] in rows
    assert not any(cell.startswith(("=", "+", "@")) for row in rows for cell in row)
    entry = AuditLog.objects.get(action="exported")
    assert entry.actor.username == "sara" and written.slug in entry.detail


def test_the_campaign_report_counts_the_readers_who_acted(client):
    action = petition()
    campaign = Campaign.objects.create(
        kind=Campaign.Kind.ALERT,
        subject="Act today",
        body_markdown="Sign [here](/act/stop-the-mine/).",
        status=Campaign.Status.SENT,
        started_at=timezone.now() - timedelta(hours=3),
    )
    readers = [Subscriber.objects.create(email=f"r{i}@example.org", status="confirmed") for i in range(4)]
    for reader in readers:
        Delivery.objects.create(campaign=campaign, subscriber=reader, status="sent")
    # r0 through the personal link, r1 on the public page with the same address: both count once each.
    client.post(personal_url(action, subscriber_id=readers[0].pk, campaign_id=campaign.pk), {"name": "R"})
    sign(action, "r1@example.org", subscriber=readers[1])
    # Before the campaign, or someone who never got it: not because of this campaign.
    Signature.objects.filter(pk=sign(action, "r2@example.org", subscriber=readers[2]).pk).update(
        created_at=timezone.now() - timedelta(days=2)
    )
    sign(action, "stranger@example.org")

    report = campaign_report(campaign)

    [line] = report.extra
    assert (line.key, line.value) == ("acted", 2)
    assert ("acted", 2) in report.figures()
    verified(client, staff("sara", "sender"))
    page = client.get(f"/admin/campaigns/campaign/{campaign.pk}/report/").content.decode()
    assert "Acted" in page


def test_the_campaign_report_says_how_many_of_those_who_opened_acted(client):
    action = petition()
    campaign = Campaign.objects.create(
        kind=Campaign.Kind.ALERT,
        subject="Act today",
        body_markdown="Sign [here](/act/stop-the-mine/).",
        status=Campaign.Status.SENT,
        started_at=timezone.now() - timedelta(hours=3),
    )
    readers = [Subscriber.objects.create(email=f"r{i}@example.org", status="confirmed") for i in range(4)]
    for reader in readers:
        delivery = Delivery.objects.create(campaign=campaign, subscriber=reader, status="sent")
        if reader != readers[3]:
            record_first_party_event(delivery_id=delivery.pk, kind=DeliveryEvent.Kind.OPENED)
    sign(action, "r0@example.org", subscriber=readers[0])

    verified(client, staff("sara", "sender"))
    page = " ".join(client.get(f"/admin/campaigns/campaign/{campaign.pk}/report/").content.decode().split())

    assert "of 3 who opened, 1 acted" in page


def test_a_campaign_that_links_to_no_action_has_no_acted_line():
    campaign = Campaign.objects.create(subject="News", body_markdown="[read](https://example.net/)")
    assert campaign_report(campaign).extra == []


# --- roles ---------------------------------------------------------------------------------------


def test_writers_draft_actions_and_read_reports_but_never_see_who_signed(client, written):
    writer = staff("wren", "writer")
    assert writer.has_perm("actions.add_action") and writer.has_perm("actions.add_actiontranslation")
    assert not writer.has_perm("actions.view_signature") and not writer.has_perm("actions.view_letter")
    verified(client, writer)
    assert client.get("/admin/actions/action/add/").status_code == 200
    assert client.get("/admin/actions/signature/").status_code == 403
    assert client.get(f"/admin/actions/action/{written.pk}/report.csv").status_code == 403
    # Opening an action publishes it: not a writer's to do.
    changelist = client.get("/admin/actions/action/").content.decode()
    assert "open_actions" not in changelist


def test_senders_open_actions_see_signatures_and_keep_targets_up_to_date(client, written):
    sender = staff("sara", "sender")
    for perm in ("actions.view_signature", "actions.view_letter", "actions.change_target", "actions.add_district"):
        assert sender.has_perm(perm), perm
    assert not sender.has_perm("actions.delete_action")
    verified(client, sender)
    assert "open_actions" in client.get("/admin/actions/action/").content.decode()
    assert client.get("/admin/actions/signature/").status_code == 200


def test_roles_are_rebuilt_with_the_actions_permissions_after_migrate():
    from django.contrib.auth.models import Group
    from django.core.management.sql import emit_post_migrate_signal

    Group.objects.get_or_create(name="writer")[0].permissions.clear()
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    assert Group.objects.get(name="writer").permissions.filter(codename="add_action").exists()
