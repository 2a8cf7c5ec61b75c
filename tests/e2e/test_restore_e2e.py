"""A campaign caught mid-send by a backup, restored, held by manage.py restored_from_backup, then a real worker.

The worker (real Redis, real SMTP) gets the paused campaign's batch and sends
nothing; staff resume, and exactly the emails still queued go out, once: never
the ones sent before the backup, never the one caught in flight (unknown).
"""

from __future__ import annotations

from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from campaigns import lifecycle, tasks
from campaigns.models import Campaign, Delivery, SendBatch
from tests.support.factories import make_campaign, make_list, make_people
from tests.support.sending import sending_campaign
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
S = Campaign.Status
DS = Delivery.Status


def status_of(campaign: Campaign) -> str:
    return Campaign.objects.values_list("status", flat=True).get(pk=campaign.pk)


def test_after_the_command_a_worker_sends_nothing_until_staff_resume_and_then_only_what_was_queued(
    celery_worker_process, smtp_server
):
    campaign, batch = sending_campaign(6, subject="Restored mid-send")
    rows = list(Delivery.objects.filter(campaign=campaign).order_by("id").select_related("subscriber"))
    Delivery.objects.filter(pk__in=[rows[0].pk, rows[1].pk]).update(status=DS.SENT, sent_at=timezone.now())
    Delivery.objects.filter(pk=rows[2].pk).update(status=DS.SENDING, claimed_at=timezone.now())
    call_command("restored_from_backup", stdout=StringIO(), stderr=StringIO())  # warns: the worker runs
    assert status_of(campaign) == S.PAUSED

    # The worker gets the paused campaign's batch (a task left in the broker, or the sweeper's)...
    tasks.sweep()
    tasks.send_batch.apply_async(args=(campaign.pk, batch.first_id, batch.last_id), queue="bulk")
    # ...then a campaign queued after it, which it sends: by then the paused batch has had its turn.
    peru = make_list(slug="after-the-restore")
    other = make_people(1, peru, prefix="later")
    control = make_campaign([peru], subject="Sent after the restore")
    lifecycle.start(campaign=control, actor=None)
    wait_until(lambda: status_of(control) == S.SENT, message="the control campaign being sent")
    received = smtp_server.wait_for(1)
    assert [str(message["To"]) for message in received] == [other[0].email]
    assert status_of(campaign) == S.PAUSED

    lifecycle.resume(campaign=Campaign.objects.get(pk=campaign.pk), actor=None)
    wait_until(lambda: status_of(campaign) == S.SENT, message="the restored campaign being sent")
    received = smtp_server.wait_for(4)
    to = Counter(str(message["To"]) for message in received[1:])
    assert to == Counter({row.subscriber.email: 1 for row in rows[3:]})
    assert Delivery.objects.get(pk=rows[2].pk).status == DS.UNKNOWN
    assert not SendBatch.objects.filter(campaign=campaign).exclude(lease_token="").exists()
