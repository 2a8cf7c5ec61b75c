"""manage.py restored_from_backup: after a restore, nothing the backup called "queued" goes out by itself.

A restored ledger says ``queued`` for every email sent after the backup was
taken; the command pauses the campaigns that were sending (with the reason on
their page), calls the rows caught mid-send ``unknown`` and leaves staff to
decide. The engine and the sweeper are called the way beat and a worker do.
"""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from campaigns import lifecycle, tasks
from campaigns.models import AuditLog, Campaign, Delivery
from tests.support import personas
from tests.support.factories import make_campaign, make_list, make_people
from tests.support.personas import verified
from tests.support.sending import run, sending_campaign

pytestmark = pytest.mark.django_db
S = Campaign.Status
DS = Delivery.Status


def restored(*args: str) -> str:
    out = StringIO()
    call_command("restored_from_backup", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def mid_send():
    """A campaign as a backup taken mid-send restores it: 2 sent, 1 in flight, 3 queued."""
    campaign, batch = sending_campaign(6)
    rows = list(Delivery.objects.filter(campaign=campaign).order_by("id"))
    Delivery.objects.filter(pk__in=[rows[0].pk, rows[1].pk]).update(status=DS.SENT, sent_at=timezone.now())
    Delivery.objects.filter(pk=rows[2].pk).update(status=DS.SENDING, claimed_at=timezone.now())
    return campaign, batch


def statuses(campaign: Campaign) -> list[str]:
    return list(Delivery.objects.filter(campaign=campaign).order_by("id").values_list("status", flat=True))


def test_it_pauses_a_campaign_caught_mid_send_with_the_reason_and_marks_the_message_in_flight_unknown(mid_send):
    campaign, _batch = mid_send
    output = restored()
    campaign.refresh_from_db()
    assert campaign.status == S.PAUSED
    assert "Restored from a backup" in campaign.status_reason
    assert "up to 3 emails" in campaign.status_reason
    assert "Resume" in campaign.status_reason and "cancel" in campaign.status_reason
    assert statuses(campaign) == [DS.SENT, DS.SENT, DS.UNKNOWN, DS.QUEUED, DS.QUEUED, DS.QUEUED]
    assert campaign.subject in output
    assert "next" in output.lower() and "start the workers" in output.lower()


def test_nothing_queued_is_sent_afterwards_by_beat_or_a_worker_while_it_is_paused(mid_send, settings):
    campaign, batch = mid_send
    restored()
    tasks.sweep()
    result = run(campaign, batch)
    assert result.sent == 0
    assert mail.outbox == []
    assert statuses(campaign).count(DS.QUEUED) == 3


def test_staff_resuming_it_sends_the_queued_rows_and_never_the_unknown_one(mid_send, enqueued_nothing):
    campaign, batch = mid_send
    restored()
    lifecycle.resume(campaign=campaign, actor=None)
    run(campaign, batch)
    assert len(mail.outbox) == 3
    assert statuses(campaign) == [DS.SENT, DS.SENT, DS.UNKNOWN, DS.SENT, DS.SENT, DS.SENT]


def test_a_second_run_changes_nothing_and_says_so(mid_send):
    campaign, _batch = mid_send
    restored()
    entries = AuditLog.objects.count()
    reason = Campaign.objects.get(pk=campaign.pk).status_reason
    output = restored()
    assert "nothing to do" in output.lower()
    assert AuditLog.objects.count() == entries
    assert Campaign.objects.get(pk=campaign.pk).status_reason == reason


def test_dry_run_changes_nothing_but_says_what_it_would_do(mid_send):
    campaign, _batch = mid_send
    entries = AuditLog.objects.count()
    output = restored("--dry-run")
    assert "dry run" in output.lower()
    assert campaign.subject in output
    campaign.refresh_from_db()
    assert campaign.status == S.SENDING
    assert statuses(campaign).count(DS.SENDING) == 1
    assert AuditLog.objects.count() == entries


def test_one_audit_entry_sums_up_what_the_command_did(mid_send):
    campaign, _batch = mid_send
    restored()
    entry = AuditLog.objects.get(action="restored-from-backup")
    assert entry.actor is None
    assert "manage.py restored_from_backup" in entry.detail
    assert "1 campaign" in entry.detail and "1 email" in entry.detail
    # The pause itself is audited like any pause, with the reason.
    assert AuditLog.objects.filter(campaign=campaign, action=S.PAUSED).exists()


def test_it_says_nothing_to_do_when_nothing_was_sending():
    peru = make_list()
    make_people(2, peru)
    draft = make_campaign([peru])
    output = restored()
    assert "nothing to do" in output.lower()
    assert not AuditLog.objects.filter(action="restored-from-backup").exists()
    assert Campaign.objects.get(pk=draft.pk).status == S.DRAFT


def test_a_scheduled_campaign_whose_time_passed_goes_back_to_draft_instead_of_starting_again():
    peru = make_list()
    make_people(2, peru)
    due = make_campaign([peru], status=S.SCHEDULED, scheduled_at=timezone.now() - timedelta(hours=1))
    later = make_campaign([peru], status=S.SCHEDULED, scheduled_at=timezone.now() + timedelta(days=1))
    restored()
    assert tasks.start_due() == []
    due.refresh_from_db()
    assert due.status == S.DRAFT and "Restored from a backup" in due.status_reason
    assert Campaign.objects.get(pk=later.pk).status == S.SCHEDULED


def test_the_campaign_page_shows_the_reason_prominently_with_resume_and_cancel(mid_send, client):
    campaign, _batch = mid_send
    restored()
    verified(client, personas.sender())
    page = client.get(f"/admin/campaigns/campaign/{campaign.pk}/change/").content.decode()
    reason = Campaign.objects.get(pk=campaign.pk).status_reason
    assert f'<p class="tocsin-reason" id="tocsin-status-reason">{reason}</p>' in page
    assert ">Resume</button>" in page and ">Cancel campaign</button>" in page
    assert ">Re-send the unknown ones</button>" in page


@pytest.fixture
def enqueued_nothing(monkeypatch):
    monkeypatch.setattr("campaigns.tasks.enqueue_batch", lambda ref, *, queue, countdown=None: None)


def test_it_warns_when_workers_are_already_running(mid_send, own_broker):
    # Heartbeats live on the broker: a Redis of the test's own, so it runs on a machine without one too.
    from config import health

    health.record_heartbeat("bulk-1@worker-b")
    try:
        errors = StringIO()
        call_command("restored_from_backup", stdout=StringIO(), stderr=errors)
    finally:
        health.forget_worker("bulk-1@worker-b")
    assert "bulk-1@worker-b" in errors.getvalue()
    assert "stop" in errors.getvalue().lower()
    assert Campaign.objects.get(pk=mid_send[0].pk).status == S.PAUSED  # held all the same
