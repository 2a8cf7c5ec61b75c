"""The ledger roll-up: old campaigns' rows become exact counts and per-person engagement, then go."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone, translation

from campaigns import lifecycle
from campaigns.admin.people import campaigns_received
from campaigns.models import Campaign, Delivery, DeliveryEvent, PersonEngagement, RolledUpCampaign
from campaigns.reports.dashboard import last_campaigns
from campaigns.reports.figures import campaign_report
from campaigns.rollup.rolling import due_campaigns, roll_up, roll_up_due
from campaigns.sending import audience
from subscribers.models import Subscriber
from tests.support.factories import make_list
from tests.support.personas import staff, verified
from tests.support.reports import roll_up_killed_after_one_batch

pytestmark = pytest.mark.django_db
Kind = DeliveryEvent.Kind


def finished(campaign: Campaign, *, days_ago: int) -> Campaign:
    Campaign.objects.filter(pk=campaign.pk).update(finished_at=timezone.now() - timedelta(days=days_ago))
    return Campaign.objects.get(pk=campaign.pk)


def everything_staff_read(campaign: Campaign) -> dict:
    report = asdict(campaign_report(campaign))
    report.pop("campaign")
    report.pop("rolled_up_at")
    dashboard = [
        {key: value for key, value in row.items() if key != "campaign"}
        for row in last_campaigns()
        if row["campaign"].pk == campaign.pk
    ]
    return {"report": report, "counts": lifecycle.campaign_counts(campaign), "dashboard": dashboard}


def test_reports_show_the_same_figures_before_and_after_the_roll_up(sent_campaign, client):
    Subscriber.objects.filter(email__in=["p6@example.org", "p7@example.org"]).update(tracking_allowed=False)
    campaign = finished(sent_campaign, days_ago=400)
    before = everything_staff_read(campaign)

    deleted = roll_up(campaign.pk, batch_size=3)  # several batches

    assert deleted == 11
    assert not Delivery.objects.filter(campaign=campaign).exists()
    assert not DeliveryEvent.objects.filter(campaign=campaign, delivery__isnull=False).exists()
    assert everything_staff_read(campaign) == before
    assert before["report"]["statuses"] == {"sent": 10, "failed": 1}
    assert before["report"]["top_links"] and before["report"]["untracked_recipients"] == 2
    verified(client, staff("sara", "sender"))
    page = client.get(f"/admin/campaigns/campaign/{campaign.pk}/report/").content.decode()
    assert "rolled up" in page and "<svg" in page


def test_each_person_keeps_what_they_received_opened_and_clicked(sent_campaign):
    campaign = finished(sent_campaign, days_ago=400)
    opened_at = DeliveryEvent.objects.filter(delivery__subscriber__email="p0@example.org", kind=Kind.OPENED)
    latest_open = max(opened_at.values_list("occurred_at", flat=True))
    failed_person = Delivery.objects.get(campaign=campaign, status="failed").subscriber_id

    roll_up(campaign.pk)

    p0 = PersonEngagement.objects.get(subscriber__email="p0@example.org")
    assert p0.campaigns_received == 1 and p0.last_opened_at == latest_open and p0.last_clicked_at is not None
    failed = PersonEngagement.objects.get(subscriber_id=failed_person)
    assert failed.campaigns_received == 0 and failed.last_received_at is None
    history = campaigns_received(Subscriber.objects.get(email="p0@example.org"))
    assert "Earlier campaigns (rolled up): 1 received" in history


def test_engagement_adds_up_over_campaigns_and_still_selects_engaged_people(sent_campaign):
    peru = make_list("peru")
    p0 = Subscriber.objects.get(email="p0@example.org")
    p0.subscriptions.create(mailing_list=peru)
    second = Campaign.objects.create(subject="Second", status=Campaign.Status.SENT, started_at=timezone.now())
    Delivery.objects.create(campaign=second, subscriber=p0, status="sent", sent_at=timezone.now())
    for campaign in (sent_campaign, second):
        roll_up(finished(campaign, days_ago=400).pk)
    Campaign.objects.filter(pk=sent_campaign.pk).update(started_at=timezone.now() - timedelta(days=3))
    recent_open = timezone.now() - timedelta(days=3)
    PersonEngagement.objects.filter(subscriber=p0).update(last_opened_at=recent_open)

    assert PersonEngagement.objects.get(subscriber=p0).campaigns_received == 2
    engaged = Campaign.objects.create(subject="Re-engagement", engaged_within_days=30)
    engaged.lists.add(peru)
    assert audience.count_audience(engaged) == 1


def test_only_finished_campaigns_past_the_retention_roll_up_and_appeals_keep_their_rows(sent_campaign, settings):
    settings.TOCSIN_LEDGER_RETENTION_DAYS = 180
    old = finished(sent_campaign, days_ago=200)
    recent = Campaign.objects.create(subject="Recent", status=Campaign.Status.SENT, finished_at=timezone.now())
    appeal = Campaign.objects.create(
        subject="Appeal", kind=Campaign.Kind.APPEAL, status=Campaign.Status.SENT, finished_at=old.finished_at
    )
    sending = Campaign.objects.create(subject="Sending", status=Campaign.Status.SENDING, finished_at=old.finished_at)
    person = Subscriber.objects.get(email="p0@example.org")
    for campaign in (recent, appeal, sending):
        Delivery.objects.create(campaign=campaign, subscriber=person, status="sent")

    assert due_campaigns() == [old.pk]
    assert roll_up_due() == {"campaigns": 1, "rows": 11}
    assert due_campaigns() == []
    assert Delivery.objects.filter(campaign__in=[recent, appeal, sending]).count() == 3
    settings.TOCSIN_LEDGER_RETENTION_DAYS = 0
    assert due_campaigns() == []  # 0 keeps everything


def test_a_roll_up_stopped_halfway_carries_on_without_counting_twice(sent_campaign):
    campaign = finished(sent_campaign, days_ago=400)
    before = asdict(campaign_report(campaign))
    roll_up_killed_after_one_batch(campaign.pk, batch_size=4)
    assert Delivery.objects.filter(campaign=campaign).count() == 7
    assert RolledUpCampaign.objects.get(campaign=campaign).finished_at is None

    roll_up(campaign.pk, batch_size=4)

    assert sum(PersonEngagement.objects.values_list("campaigns_received", flat=True)) == 10
    after = asdict(campaign_report(campaign))
    assert {k: v for k, v in after.items() if k != "rolled_up_at"} == {
        k: v for k, v in before.items() if k != "rolled_up_at"
    }


def test_the_command_rolls_up_now_and_refuses_what_cannot_be(sent_campaign):
    out = StringIO()
    call_command("rollup_deliveries", campaign=finished(sent_campaign, days_ago=1).pk, stdout=out)
    assert "11 delivery rows rolled up" in out.getvalue()
    draft = Campaign.objects.create(subject="Draft")
    with pytest.raises(CommandError, match="only finished"):
        call_command("rollup_deliveries", campaign=draft.pk, stdout=StringIO())
    with pytest.raises(CommandError, match="no campaign"):
        call_command("rollup_deliveries", campaign=987654, stdout=StringIO())
    out = StringIO()
    call_command("rollup_deliveries", older_than_days=30, stdout=out)
    assert "0 campaign(s), 0 rows" in out.getvalue()


def test_the_earlier_campaigns_line_agrees_with_its_count_in_french(sent_campaign):
    roll_up(finished(sent_campaign, days_ago=400).pk)
    p0 = Subscriber.objects.get(email="p0@example.org")

    with translation.override("fr"):
        one = campaigns_received(p0)
        PersonEngagement.objects.filter(subscriber=p0).update(campaigns_received=2)
        two = campaigns_received(p0)

    assert "Campagnes précédentes (consolidées)\u00a0: 1 reçue, la dernière le" in one
    assert "Campagnes précédentes (consolidées)\u00a0: 2 reçues, la dernière le" in two
