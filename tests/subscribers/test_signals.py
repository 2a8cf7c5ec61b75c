"""The subscribers app tells the apps above it what happened, without importing them."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured

from campaigns.models import AuditLog, Campaign, Delivery
from subscribers import signals, tasks
from subscribers.models import Consent
from subscribers.services import confirmation, erase, signup, suppress, unsubscribe
from tests.support.factories import make_list, make_subscriber

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard():
    """The subscriber id of every person_left a higher app would hear."""
    calls: list[int] = []

    def receiver(sender, *, subscriber_id, **kwargs):
        calls.append(subscriber_id)

    signals.person_left.connect(receiver, dispatch_uid="test.person_left")
    yield calls
    signals.person_left.disconnect(dispatch_uid="test.person_left")


def test_every_way_of_leaving_is_heard_above(heard):
    peru = make_list("peru")
    ana = make_subscriber("ana@example.org", lists=[peru])
    ben = make_subscriber("ben@example.org", lists=[peru])
    cai = make_subscriber("cai@example.org", lists=[peru])

    unsubscribe(subscriber=ana, channel=Consent.Channel.PAGE)
    suppress(email="ben@example.org", reason="bounced", detail="550 no such user")
    erase(subscriber=cai, actor=None)

    assert heard == [ana.pk, ben.pk, cai.pk]


def test_leaving_skips_what_a_running_campaign_had_queued_for_the_person():
    ana = make_subscriber("ana@example.org", lists=[make_list("peru")])
    queued = Delivery.objects.create(campaign=Campaign.objects.create(subject="Alert"), subscriber=ana)

    unsubscribe(subscriber=ana, channel=Consent.Channel.ONE_CLICK)

    queued.refresh_from_db()
    assert queued.status == Delivery.Status.SKIPPED


def test_the_emails_are_queued_under_their_tasks_names():
    assert tasks.send_confirmation_email.name == signup.SEND_CONFIRMATION_TASK
    assert tasks.send_welcome_email.name == confirmation.SEND_WELCOME_TASK


def test_a_staff_action_on_people_lands_in_the_audit_log():
    boss = User.objects.create_user("boss", "boss@example.org", "a-long-password-3", is_staff=True)

    signals.log_staff_action(actor=boss, action="export_subscribers", detail="3 subscribers (CSV)")

    entry = AuditLog.objects.get()
    assert (entry.actor, entry.action, entry.detail) == (boss, "export_subscribers", "3 subscribers (CSV)")


def test_a_staff_action_that_nothing_would_log_is_refused():
    receivers = signals.staff_acted.receivers
    signals.staff_acted.receivers = []
    signals.staff_acted.sender_receivers_cache.clear()
    try:
        with pytest.raises(ImproperlyConfigured):
            signals.log_staff_action(actor=None, action="export_subscribers", detail="3 subscribers (CSV)")
    finally:
        signals.staff_acted.receivers = receivers
        signals.staff_acted.sender_receivers_cache.clear()
