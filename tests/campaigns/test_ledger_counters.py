"""The ledger's counters (campaigns/counters.py) say what a GROUP BY over the rows says, whatever wrote them.

Reports and the API read a live campaign's statuses from these counters; each
step of a send, and every other writer of delivery rows, is checked against
the rows themselves.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from anymail.signals import AnymailTrackingEvent, EventType
from django.db import transaction
from django.utils import timezone

from campaigns import lifecycle, tasks
from campaigns.counters import fold, rebuild, status_counts
from campaigns.events.recording import record_first_party_event, record_provider_event
from campaigns.models import Campaign, Delivery, DeliveryCount, SendBatch
from campaigns.reports.figures import campaign_report
from campaigns.rollup.rolling import roll_up
from campaigns.sending import ledger, outcomes
from campaigns.sending.audience import snapshot
from subscribers.models import Subscriber
from subscribers.signals import person_left
from tests.support.factories import make_campaign
from tests.support.mail_backends import FailingBackend
from tests.support.sending import run, sending_campaign, statuses_by_group_by

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
DS = Delivery.Status
Outcome = outcomes.Outcome


def assert_counters_agree(campaign: Campaign) -> None:
    assert status_counts(campaign.pk) == statuses_by_group_by(campaign.pk)
    assert lifecycle.campaign_counts(campaign)["recipients"] == Delivery.objects.filter(campaign=campaign).count()


@pytest.fixture
def failing_backend(settings):
    settings.EMAIL_BACKEND = "tests.support.mail_backends.FailingBackend"
    FailingBackend.failures = {}
    FailingBackend.hook = None
    yield FailingBackend
    FailingBackend.failures = {}
    FailingBackend.hook = None


def test_each_step_of_a_send_keeps_the_counts_exact(failing_backend, settings):
    import smtplib

    campaign, batch = sending_campaign(6)
    assert status_counts(campaign.pk) == {DS.QUEUED: 6}
    people = list(Subscriber.objects.order_by("id"))
    failing_backend.failures[people[1].email] = smtplib.SMTPRecipientsRefused({people[1].email: (550, b"no")})
    failing_backend.failures[people[2].email] = smtplib.SMTPResponseException(421, b"4.3.2 try again later")

    run(campaign, batch)  # sent, a failure, and a retry that puts its row back in the queue
    assert_counters_agree(campaign)
    assert status_counts(campaign.pk)[DS.FAILED] == 1 and status_counts(campaign.pk)[DS.QUEUED] >= 1

    failing_backend.failures.clear()
    SendBatch.objects.filter(pk=batch.pk).update(lease_until=None, lease_token="")
    run(campaign, batch)
    assert status_counts(campaign.pk) == {DS.SENT: 5, DS.FAILED: 1}
    assert lifecycle.campaign_counts(campaign) | {"capped": 0} == {
        "recipients": 6,
        "sent": 5,
        "failed": 1,
        "unknown": 0,
        "pending": 0,
        "skipped": 0,
        "capped": 0,
    }


def test_claims_records_the_sweeper_and_a_resend_keep_the_counts_exact(settings):
    campaign, _batch = sending_campaign(5)
    first, second, third, fourth, fifth = Delivery.objects.filter(campaign=campaign).order_by("id")
    assert ledger.advance(None, first.pk)
    assert ledger.advance(ledger.Done(first.pk, Outcome.SENT, esp_message_id="<1@x>"), second.pk)
    assert_counters_agree(campaign)
    assert ledger.claim([third.pk, fourth.pk, first.pk]) == {third.pk, fourth.pk}  # first is not queued: no change
    assert_counters_agree(campaign)
    ledger.record([(third.pk, outcomes.Classified(Outcome.SENT, message_id="<3@x>"))])
    ledger.skip(fifth.pk, "left before sending")
    ledger.skip(fifth.pk, "left before sending")  # twice: counted once
    assert_counters_agree(campaign)

    # A worker died holding second and fourth: the sweeper calls them unknown, staff send them again.
    Delivery.objects.filter(pk__in=[second.pk, fourth.pk]).update(claimed_at=timezone.now() - timedelta(hours=1))
    assert ledger.mark_stale_unknown() == 2
    assert status_counts(campaign.pk) == {DS.SENT: 2, DS.UNKNOWN: 2, DS.SKIPPED: 1}
    lifecycle.resend_unknown(campaign=campaign, actor=None)
    assert status_counts(campaign.pk) == {DS.SENT: 2, DS.QUEUED: 2, DS.SKIPPED: 1}
    assert_counters_agree(campaign)


def test_a_person_leaving_mid_send_moves_their_rows_in_every_campaign():
    campaign, _batch = sending_campaign(3)
    other = make_campaign(list(campaign.lists.all()), status=Campaign.Status.SENDING)
    snapshot(other)
    leaver = Delivery.objects.filter(campaign=campaign).order_by("id").first().subscriber
    person_left.send(sender=Subscriber, subscriber_id=leaver.pk)
    assert status_counts(campaign.pk) == status_counts(other.pk) == {DS.QUEUED: 2, DS.SKIPPED: 1}
    assert_counters_agree(campaign)
    assert_counters_agree(other)


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_write_leaves_the_counts_as_they_were():
    campaign, _batch = sending_campaign(3)
    with pytest.raises(RuntimeError), transaction.atomic():
        Delivery.objects.filter(campaign=campaign).update(status=DS.SENT)
        assert status_counts(campaign.pk) == {DS.SENT: 3}
        raise RuntimeError("the worker's transaction fails")
    assert status_counts(campaign.pk) == {DS.QUEUED: 3}


def test_events_repeats_and_a_bounce_after_delivered_count_each_delivery_once_per_kind():
    campaign, batch = sending_campaign(4)
    run(campaign, batch)
    one, two, _three, _four = Delivery.objects.filter(campaign=campaign).order_by("id")
    for kind in ("opened", "opened", "clicked"):  # a repeat open counts once
        record_first_party_event(delivery_id=one.pk, kind=kind, url="https://example.org/a")
    record_first_party_event(delivery_id=two.pk, kind="opened")
    two.refresh_from_db()
    for n, kind in enumerate([EventType.DELIVERED, EventType.BOUNCED, EventType.BOUNCED]):  # bounce after delivered
        record_provider_event(
            event=AnymailTrackingEvent(
                event_type=kind,
                event_id=f"esp-{n}",
                message_id=two.esp_message_id,
                recipient=two.subscriber.email,
                timestamp=timezone.now(),
                esp_event={},
            ),
            esp_name="Postmark",
        )
    from campaigns.events.stats import rebuild_campaign_stats

    report = campaign_report(campaign)
    rebuild_campaign_stats(campaign.pk)  # what a recount from every event says
    assert campaign_report(campaign).unique == report.unique
    assert report.unique == {"opened": 2, "clicked": 1, "delivered": 1, "bounced": 1}
    assert report.statuses == statuses_by_group_by(campaign.pk) == {DS.SENT: 4}


def test_the_roll_up_agrees_with_the_counters_and_zeroes_them():
    campaign, batch = sending_campaign(4)
    run(campaign, batch)
    Delivery.objects.filter(pk=Delivery.objects.filter(campaign=campaign).order_by("id").first().pk).update(
        status=DS.FAILED
    )
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SENT, finished_at=timezone.now())
    campaign.refresh_from_db()
    live = campaign_report(campaign)

    roll_up(campaign.pk, batch_size=3)

    assert status_counts(campaign.pk) == {} == statuses_by_group_by(campaign.pk)
    assert not DeliveryCount.objects.filter(campaign=campaign).exists()
    rolled = campaign_report(campaign)
    assert rolled.rolled_up_at is not None
    assert rolled.statuses == live.statuses == {DS.SENT: 3, DS.FAILED: 1}
    assert lifecycle.campaign_counts(campaign)["sent"] == 3


def test_the_backfill_counts_rows_written_before_the_counters():
    campaign, _batch = sending_campaign(3)
    DeliveryCount.objects.all().delete()  # as before the migration
    assert status_counts(campaign.pk) == {}
    rebuild()
    assert status_counts(campaign.pk) == {DS.QUEUED: 3}
    rebuild()  # twice: the same
    assert_counters_agree(campaign)


def test_deleting_a_campaign_leaves_no_counter_behind():
    campaign, _batch = sending_campaign(3)
    campaign.delete()
    assert not DeliveryCount.objects.exists()


def test_the_snapshot_and_a_second_prepare_count_each_recipient_once(monkeypatch):
    monkeypatch.setattr("campaigns.tasks.enqueue_batch", lambda ref, *, queue, countdown=None: None)
    campaign, _batch = sending_campaign(3)
    tasks.prepare(campaign.pk)  # running it twice adds nobody
    assert status_counts(campaign.pk) == {DS.QUEUED: 3}


@pytest.mark.parametrize("not_sent_read_limit", [50_000, 0], ids=["few-not-sent", "many-not-sent"])
def test_people_with_tracking_off_count_only_when_sent(monkeypatch, not_sent_read_limit):
    monkeypatch.setattr("campaigns.reports.figures.NOT_SENT_READ_LIMIT", not_sent_read_limit)
    campaign, _batch = sending_campaign(6)
    rows = list(Delivery.objects.filter(campaign=campaign).order_by("id"))
    Delivery.objects.filter(pk__in=[row.pk for row in rows[:4]]).update(status=DS.SENT, sent_at=timezone.now())
    Delivery.objects.filter(pk=rows[4].pk).update(status=DS.FAILED)
    Subscriber.objects.filter(pk__in=[rows[0].subscriber_id, rows[4].subscriber_id, rows[5].subscriber_id]).update(
        tracking_allowed=False
    )
    make_campaign([], status=Campaign.Status.SENT)  # someone else's campaign does not count

    report = campaign_report(campaign)

    assert report.untracked_recipients == 1  # the sent one; not the failed one, nor the one still queued
    assert report.statuses == {DS.SENT: 4, DS.FAILED: 1, DS.QUEUED: 1}


def test_folding_a_campaigns_shards_keeps_its_counts_and_leaves_one_row_per_status():
    # Every connection that ever wrote a campaign's deliveries has rows of its
    # own (a worker restarted every thousand tasks gets a new pid): folding
    # sums them into one row per status, and drops the ones that sum to zero.
    campaign, batch = sending_campaign(6)
    run(campaign, batch)
    other = make_campaign([], subject="Another")
    before = status_counts(campaign.pk)
    DeliveryCount.objects.bulk_create(
        [
            DeliveryCount(campaign=campaign, status=DS.SENT, shard=9_000_001, count=3),
            DeliveryCount(campaign=campaign, status=DS.SENT, shard=9_000_002, count=-3),
            DeliveryCount(campaign=campaign, status=DS.QUEUED, shard=9_000_003, count=2),
            DeliveryCount(campaign=campaign, status=DS.QUEUED, shard=9_000_004, count=-2),
            DeliveryCount(campaign=other, status=DS.QUEUED, shard=9_000_005, count=0),
        ]
    )

    folded = fold()

    assert status_counts(campaign.pk) == before
    rows = list(DeliveryCount.objects.filter(campaign=campaign).values_list("status", "shard", "count"))
    assert sorted(rows) == sorted((status, 0, n) for status, n in before.items())
    assert not DeliveryCount.objects.filter(campaign=other).exists()
    assert folded >= 5
    assert tasks.fold_delivery_counters() == 0  # beat's hourly task: nothing left to fold


def test_a_send_after_folding_goes_on_counting_exactly(settings):
    campaign, batch = sending_campaign(4)
    fold()
    run(campaign, batch)
    fold()
    assert_counters_agree(campaign)
    assert status_counts(campaign.pk) == {DS.SENT: 4}
