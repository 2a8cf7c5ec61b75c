"""After a database restore, journeys with steps due or emails waiting are paused until staff resume them.

A restored enrolment may stand before a step it already ran after the backup
(its email row was lost with the rest), so beat would email that person
again. manage.py restored_from_backup pauses those journeys through their
ordinary pause (audited), and their email steps' campaigns with the reason;
resuming the journey resumes them.
"""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from campaigns.models import AuditLog, Campaign, Delivery, SendBatch
from campaigns.sending import engine as sending_engine
from campaigns.staff import audit
from journeys import engine
from journeys.models import Journey
from journeys.services import setup
from journeys.services.entering import enrol
from tests.support.factories.subscribers import make_list, make_people
from tests.support.journeys import steps_of, welcome_journey
from tests.support.personas import staff, verified

pytestmark = pytest.mark.django_db
S = Campaign.Status
DS = Delivery.Status


def restored(*args: str) -> str:
    out = StringIO()
    call_command("restored_from_backup", *args, stdout=out)
    return out.getvalue()


def joined(count: int = 2) -> Journey:
    peru = make_list()
    journey = welcome_journey(peru)
    for person in make_people(count, peru):
        enrol(journeys=[journey], subscriber_id=person.pk)
    return journey


def send_queued(campaign: Campaign) -> int:
    sent = 0
    for batch in SendBatch.objects.filter(campaign=campaign):
        sent += sending_engine.run_batch(campaign.pk, batch.first_id, batch.last_id).sent
    return sent


def test_a_journey_with_people_due_is_paused_and_audited_and_beat_moves_nobody(db):  # type: ignore[no-untyped-def]
    journey = joined()
    output = restored()
    journey.refresh_from_db()
    assert journey.status == Journey.Status.PAUSED
    assert journey.name in output
    pause = AuditLog.objects.get(action=audit.JOURNEY_PAUSED, detail__contains=journey.name)
    assert "restored from a backup" in pause.detail
    assert engine.run_batch().claimed == 0


def test_its_waiting_emails_are_held_with_the_reason_until_the_journey_is_resumed(db):  # type: ignore[no-untyped-def]
    journey = joined()
    engine.run_batch()  # the first email step: two deliveries queued in its campaign
    first = steps_of(journey)[0].campaign
    restored()
    first.refresh_from_db()
    assert first.status == S.PAUSED and "up to 2 emails" in first.status_reason
    assert send_queued(first) == 0 and mail.outbox == []

    journey.refresh_from_db()
    setup.set_status(journey=journey, active=True, actor=None)
    first.refresh_from_db()
    assert first.status == S.SENDING
    assert send_queued(first) == 2


def test_a_journey_whose_people_all_wait_is_left_running_and_a_second_run_does_nothing(db):  # type: ignore[no-untyped-def]
    journey = joined()
    engine.run_batch()
    first = steps_of(journey)[0].campaign
    send_queued(first)  # everyone got the first email and waits three days for the next
    assert "nothing to do" in restored().lower()
    assert Journey.objects.get(pk=journey.pk).status == Journey.Status.ACTIVE
    with time_machine.travel(timezone.now() + timedelta(days=4)):
        restored()
        entries = AuditLog.objects.count()
        assert Journey.objects.get(pk=journey.pk).status == Journey.Status.PAUSED
        assert "nothing to do" in restored().lower()
        assert AuditLog.objects.count() == entries


def test_dry_run_pauses_nothing(db):  # type: ignore[no-untyped-def]
    journey = joined()
    assert journey.name in restored("--dry-run")
    assert Journey.objects.get(pk=journey.pk).status == Journey.Status.ACTIVE


def test_the_journey_page_says_why_it_was_paused_until_it_is_resumed(client):  # type: ignore[no-untyped-def]
    journey = joined()
    restored()
    user = staff("boss", None)
    user.is_superuser = True
    user.save()
    verified(client, user)
    url = f"/admin/journeys/journey/{journey.pk}/change/"
    assert "restored from a backup" in client.get(url).content.decode()
    journey.refresh_from_db()
    setup.set_status(journey=journey, active=True, actor=user)
    assert "restored from a backup" not in client.get(url).content.decode()
