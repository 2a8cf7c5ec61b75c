"""Staff actions, the beat sweeper and progress counts (step functions called directly)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from campaigns import lifecycle, tasks
from campaigns.lifecycle import TransitionNotAllowed
from campaigns.models import AuditLog, Campaign, Delivery, SendBatch
from campaigns.sending.throttle import Throttle
from tests.support.factories import make_campaign, make_list, make_people
from tests.support.sending import run_every_batch

pytestmark = pytest.mark.django_db
S = Campaign.Status
DS = Delivery.Status


@pytest.fixture
def enqueued(monkeypatch):
    """What the engine hands to Celery, captured instead of sent to Redis."""
    batches: list = []
    monkeypatch.setattr(
        "campaigns.tasks.enqueue_batch", lambda ref, *, queue, countdown=None: batches.append((ref, queue))
    )
    return batches


@pytest.fixture
def campaign():
    peru = make_list()
    make_people(12, peru)
    return make_campaign([peru])


def test_start_moves_to_sending_and_prepares_only_after_commit(campaign, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        lifecycle.start(campaign=campaign, actor=None)
    assert campaign.status == S.SENDING and campaign.started_at
    assert len(callbacks) == 1
    assert not Delivery.objects.exists()  # the snapshot happens in the worker


def test_prepare_snapshots_cuts_batches_and_fills_the_window(
    campaign, settings, enqueued, django_capture_on_commit_callbacks
):
    settings.TOCSIN_SEND_BATCH_SIZE = 5
    settings.TOCSIN_SEND_WINDOW = 2
    lifecycle.start(campaign=campaign, actor=None)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.prepare(campaign.pk) == 12
    assert SendBatch.objects.filter(campaign=campaign).count() == 3
    assert len(enqueued) == 2 and {queue for _, queue in enqueued} == {"bulk"}
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.prepare(campaign.pk) == 0  # a second prepare (the sweeper) changes nothing
    assert Delivery.objects.filter(campaign=campaign).count() == 12


def test_alerts_go_to_the_urgent_queue(settings, enqueued, django_capture_on_commit_callbacks):
    peru = make_list()
    make_people(3, peru)
    alert = make_campaign([peru], kind=Campaign.Kind.ALERT)
    lifecycle.start(campaign=alert, actor=None)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.prepare(alert.pk)
    assert [queue for _, queue in enqueued] == ["urgent"]


def test_a_whole_send_through_the_steps_ends_sent(campaign, settings, enqueued, django_capture_on_commit_callbacks):
    settings.TOCSIN_SEND_BATCH_SIZE = 5
    lifecycle.start(campaign=campaign, actor=None)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.prepare(campaign.pk)
    run_every_batch(campaign, enqueued, django_capture_on_commit_callbacks)
    campaign.refresh_from_db()
    assert campaign.status == S.SENT and campaign.finished_at
    assert len(mail.outbox) == 12
    assert lifecycle.campaign_counts(campaign) == {
        "recipients": 12,
        "sent": 12,
        "failed": 0,
        "unknown": 0,
        "pending": 0,
        "skipped": 0,
        "capped": 0,
    }


def test_counts_before_sending_show_the_live_audience(campaign):
    assert lifecycle.campaign_counts(campaign)["recipients"] == 12
    assert lifecycle.campaign_counts(campaign)["pending"] == 0


def test_scheduling_in_the_past_is_refused(campaign):
    with pytest.raises(lifecycle.ScheduleInPast):
        lifecycle.start(campaign=campaign, actor=None, at=timezone.now() - timedelta(minutes=1))


def test_a_scheduled_campaign_starts_once_when_its_time_comes(campaign, django_capture_on_commit_callbacks):
    lifecycle.start(campaign=campaign, actor=None, at=timezone.now() + timedelta(hours=1))
    assert campaign.status == S.SCHEDULED
    assert tasks.start_due() == []
    Campaign.objects.filter(pk=campaign.pk).update(scheduled_at=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert tasks.start_due() == [campaign.pk]
        assert tasks.start_due() == []  # a second beat finds it already sending
    assert len(callbacks) == 1
    campaign.refresh_from_db()
    assert campaign.status == S.SENDING


def test_pause_resume_and_cancel_follow_the_workflow(campaign, enqueued, django_capture_on_commit_callbacks):
    lifecycle.start(campaign=campaign, actor=None)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.prepare(campaign.pk)
    lifecycle.pause(campaign=campaign, actor=None, reason="Checking a link")
    assert campaign.status == S.PAUSED and campaign.status_reason == "Checking a link"
    enqueued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.resume(campaign=campaign, actor=None)
    assert campaign.status == S.SENDING
    lifecycle.cancel(campaign=campaign, actor=None)
    assert campaign.status == S.CANCELLED
    with pytest.raises(TransitionNotAllowed):
        lifecycle.resume(campaign=campaign, actor=None)
    assert AuditLog.objects.filter(campaign=campaign).count() >= 4


def test_the_sweeper_marks_rows_left_sending_by_a_dead_worker_unknown(
    campaign, settings, enqueued, django_capture_on_commit_callbacks
):
    lifecycle.start(campaign=campaign, actor=None)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.prepare(campaign.pk)
    stale, fresh = Delivery.objects.filter(campaign=campaign).order_by("id")[:2]
    Delivery.objects.filter(pk=stale.pk).update(status=DS.SENDING, claimed_at=timezone.now() - timedelta(hours=1))
    Delivery.objects.filter(pk=fresh.pk).update(status=DS.SENDING, claimed_at=timezone.now())

    tasks.sweep()

    assert Delivery.objects.get(pk=stale.pk).status == DS.UNKNOWN
    assert Delivery.objects.get(pk=fresh.pk).status == DS.SENDING  # maybe still in flight


def test_the_sweeper_requeues_batches_whose_lease_lapsed(campaign, enqueued, django_capture_on_commit_callbacks):
    lifecycle.start(campaign=campaign, actor=None)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.prepare(campaign.pk)
    assert len(enqueued) == 1
    with django_capture_on_commit_callbacks(execute=True):
        tasks.sweep()
    assert len(enqueued) == 1  # still leased: nothing new
    SendBatch.objects.update(lease_until=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        tasks.sweep()
    assert len(enqueued) == 2 and enqueued[0][0].first_id == enqueued[1][0].first_id


def test_a_campaign_is_sent_only_when_nothing_is_queued_or_in_flight(
    campaign, enqueued, django_capture_on_commit_callbacks
):
    lifecycle.start(campaign=campaign, actor=None)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.prepare(campaign.pk)
    Delivery.objects.filter(campaign=campaign).update(status=DS.SENT)
    one = Delivery.objects.filter(campaign=campaign).first()
    Delivery.objects.filter(pk=one.pk).update(status=DS.SENDING, claimed_at=timezone.now())
    assert not tasks.finish_if_done(campaign)
    Delivery.objects.filter(pk=one.pk).update(status=DS.UNKNOWN)
    assert tasks.finish_if_done(campaign)
    campaign.refresh_from_db()
    assert campaign.status == S.SENT


def test_an_empty_audience_finishes_at_once(django_capture_on_commit_callbacks, enqueued):
    campaign = make_campaign([make_list("empty")])
    lifecycle.start(campaign=campaign, actor=None)
    tasks.prepare(campaign.pk)
    campaign.refresh_from_db()
    assert campaign.status == S.SENT


def test_resend_unknown_queues_only_the_doubtful_recipients(campaign, enqueued, django_capture_on_commit_callbacks):
    lifecycle.start(campaign=campaign, actor=None)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.prepare(campaign.pk)
    with pytest.raises(lifecycle.NothingToResend):
        lifecycle.resend_unknown(campaign=campaign, actor=None)
    doubtful = Delivery.objects.filter(campaign=campaign).first()
    Delivery.objects.filter(pk=doubtful.pk).update(status=DS.UNKNOWN)
    Delivery.objects.exclude(pk=doubtful.pk).update(status=DS.SENT)
    lifecycle.pause(campaign=campaign, actor=None)

    lifecycle.resend_unknown(campaign=campaign, actor=None)

    assert Delivery.objects.get(pk=doubtful.pk).status == DS.QUEUED
    assert SendBatch.objects.filter(
        campaign=campaign, done=False, first_id__lte=doubtful.pk, last_id__gte=doubtful.pk
    ).exists()


def test_staff_can_resend_the_unknown_deliveries_of_a_sent_campaign_and_it_finishes_again(
    campaign, settings, enqueued, django_capture_on_commit_callbacks
):
    lifecycle.start(campaign=campaign, actor=None)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.prepare(campaign.pk)
    doubtful = Delivery.objects.filter(campaign=campaign).first()
    Delivery.objects.filter(pk=doubtful.pk).update(status=DS.UNKNOWN)
    Delivery.objects.exclude(pk=doubtful.pk).update(status=DS.SENT)
    enqueued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        tasks.continue_sending(campaign.pk)
    campaign.refresh_from_db()
    assert campaign.status == S.SENT

    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.resend_unknown(campaign=campaign, actor=None)

    assert campaign.status == S.SENDING
    assert AuditLog.objects.filter(campaign=campaign, action="resend_unknown").exists()
    run_every_batch(campaign, enqueued, django_capture_on_commit_callbacks)
    campaign.refresh_from_db()
    assert campaign.status == S.SENT
    assert [message.to for message in mail.outbox] == [[doubtful.subscriber.email]]


def test_a_sent_campaign_cannot_be_paused_resumed_or_restarted(campaign):
    from campaigns.lifecycle import transition

    lifecycle.start(campaign=campaign, actor=None)
    transition(campaign, S.SENT)
    for to in (S.SENDING, S.PAUSED, S.SCHEDULED, S.DRAFT, S.CANCELLED):
        with pytest.raises(TransitionNotAllowed):
            transition(campaign, to)
    with pytest.raises(TransitionNotAllowed):
        lifecycle.resume(campaign=campaign, actor=None)


@pytest.mark.redis
def test_the_throttle_spaces_messages_across_workers_at_the_configured_rate(settings):
    import redis

    redis.Redis.from_url(settings.REDIS_URL).delete("tocsin:throttle:test")
    throttle = Throttle(rate=10, burst=2, key="tocsin:throttle:test")
    waits = [throttle.take() for _ in range(6)]
    assert waits[:2] == [0.0, 0.0]  # the burst
    assert waits[2] > 0 and waits[5] > waits[2]  # then one token every 0.1 s, in order
    assert Throttle(rate=0).unlimited and Throttle(rate=0).wait() == 0


def test_send_campaign_command_starts_a_send(campaign, django_capture_on_commit_callbacks):
    from django.core.management import call_command

    with django_capture_on_commit_callbacks(execute=False):
        call_command("send_campaign", str(campaign.pk))
    campaign.refresh_from_db()
    assert campaign.status == S.SENDING


def test_send_campaign_wait_shows_progress_and_the_reason_it_stopped(
    campaign, enqueued, django_capture_on_commit_callbacks
):
    from io import StringIO

    from django.core.management import CommandError, call_command

    lifecycle.start(campaign=campaign, actor=None)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.prepare(campaign.pk)
    Delivery.objects.filter(pk__in=Delivery.objects.filter(campaign=campaign).values("id")[:4]).update(status=DS.SENT)
    lifecycle.pause(campaign=campaign, actor=None, reason="Checking a link")
    out = StringIO()
    with pytest.raises(CommandError, match="Checking a link"):
        call_command("send_campaign", str(campaign.pk), "--wait", stdout=out)
    assert "4/12" in out.getvalue() and "sent 4" in out.getvalue()


def test_send_campaign_refuses_a_finished_campaign(campaign):
    from django.core.management import CommandError, call_command

    Campaign.objects.filter(pk=campaign.pk).update(status=S.SENT)
    with pytest.raises(CommandError, match="already"):
        call_command("send_campaign", str(campaign.pk))


def test_beat_runs_the_sweeper_and_the_scheduled_campaign_dispatcher_often():
    from config.celery import app

    schedule = {entry["task"]: entry["schedule"] for entry in app.conf.beat_schedule.values()}
    assert schedule["campaigns.tasks.sweep_sending"] <= 15
    assert schedule["campaigns.tasks.start_due_campaigns"] <= 15


def test_the_task_names_workers_and_beat_rely_on_are_unchanged():
    """Tasks already in the broker, and beat's schedule, call them by these names."""
    from config.celery import app

    expected = {
        "campaigns.tasks.prepare_campaign",
        "campaigns.tasks.send_batch",
        "campaigns.tasks.sweep_sending",
        "campaigns.tasks.start_due_campaigns",
    }
    defined = [tasks.prepare_campaign, tasks.send_batch, tasks.sweep_sending, tasks.start_due_campaigns]
    assert {task.name for task in defined} == expected
    assert expected <= set(app.tasks)
    scheduled = {entry["task"] for entry in app.conf.beat_schedule.values() if entry["task"].startswith("campaigns.")}
    assert scheduled == {
        "campaigns.tasks.sweep_sending",
        "campaigns.tasks.start_due_campaigns",
        "campaigns.tasks.fold_delivery_counters",
    }
