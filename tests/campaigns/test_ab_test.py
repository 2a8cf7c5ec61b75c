"""A/B tests of subjects, step by step: sample, wait, circuit breaker, winner (no worker: step functions)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.utils import timezone

from campaigns import lifecycle, tasks
from campaigns.models import ABTest, AuditLog, Campaign, Delivery, DeliveryEvent
from campaigns.sending import ab_test
from campaigns.staff import notify
from outbox.models import OutboxMessage
from tests.support.factories import make_campaign, make_list, make_people
from tests.support.sending import run_every_batch

pytestmark = pytest.mark.django_db
S = Campaign.Status
DS = Delivery.Status
SUBJECTS = ["Cajamarca: the water is ours", "Three defenders detained", "Act now for Cajamarca"]


@pytest.fixture
def enqueued(monkeypatch):
    """What the engine hands to Celery, captured instead of sent to Redis."""
    batches: list = []
    monkeypatch.setattr(
        "campaigns.tasks.enqueue_batch", lambda ref, *, queue, countdown=None: batches.append((ref, queue))
    )
    return batches


def ab_campaign(people: int = 100, *, percent: int = 30, wait: int = 0, metric: str = "clicks", **fields):
    peru = make_list()
    make_people(people, peru)
    campaign = make_campaign([peru], subject=SUBJECTS[0], **fields)
    ABTest.objects.create(
        campaign=campaign, subjects=SUBJECTS, sample_percent=percent, wait_minutes=wait, metric=metric
    )
    return campaign


def send_sample(campaign, enqueued, capture):  # type: ignore[no-untyped-def]
    lifecycle.start(campaign=campaign, actor=None)
    with capture(execute=True):
        tasks.prepare(campaign.pk)
    run_every_batch(campaign, enqueued, capture)


def event(delivery: Delivery, kind: str) -> None:
    DeliveryEvent.objects.create(
        delivery=delivery, campaign_id=delivery.campaign_id, kind=kind, event_id=f"t:{kind}:{delivery.pk}"
    )


def test_the_sample_is_an_equal_random_share_per_subject_and_the_rest_is_held(
    enqueued, django_capture_on_commit_callbacks
):
    campaign = ab_campaign(100, percent=30, wait=60)
    lifecycle.start(campaign=campaign, actor=None)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.prepare(campaign.pk)
    rows = Delivery.objects.filter(campaign=campaign)
    assert Counter(rows.values_list("status", flat=True)) == {DS.QUEUED: 30, DS.HELD: 70}
    assert Counter(rows.filter(status=DS.QUEUED).values_list("variant", flat=True)) == {1: 10, 2: 10, 3: 10}
    assert not rows.filter(status=DS.HELD, variant__isnull=False).exists()
    assert ABTest.objects.get(campaign=campaign).sample_size == 30


def test_each_subject_goes_to_its_share_then_the_winner_by_clicks_to_everyone_else(
    enqueued, django_capture_on_commit_callbacks, settings
):
    settings.TOCSIN_SEND_BATCH_SIZE = 7
    campaign = ab_campaign(60, percent=50, wait=60)
    send_sample(campaign, enqueued, django_capture_on_commit_callbacks)
    assert Counter(m.subject for m in mail.outbox) == {SUBJECTS[0]: 10, SUBJECTS[1]: 10, SUBJECTS[2]: 10}
    campaign.refresh_from_db()
    assert campaign.status == S.SENDING  # waiting for the winner, nothing queued
    for delivery in Delivery.objects.filter(campaign=campaign, variant=2)[:3]:
        event(delivery, DeliveryEvent.Kind.CLICKED)
    for delivery in Delivery.objects.filter(campaign=campaign, variant=1)[:9]:
        event(delivery, DeliveryEvent.Kind.OPENED)  # opens do not decide a clicks test
    tasks.sweep()
    assert not enqueued  # the wait is not over
    test = ABTest.objects.get(campaign=campaign)
    ABTest.objects.filter(pk=test.pk).update(sample_sent_at=timezone.now() - timedelta(minutes=61))
    with django_capture_on_commit_callbacks(execute=True):
        tasks.sweep()
    run_every_batch(campaign, enqueued, django_capture_on_commit_callbacks)
    campaign.refresh_from_db()
    assert campaign.status == S.SENT and campaign.subject == SUBJECTS[1]
    assert Counter(m.to[0] for m in mail.outbox) == {f"person{i}@example.org": 1 for i in range(60)}
    assert Counter(m.subject for m in mail.outbox)[SUBJECTS[1]] == 40
    summary = ab_test.summary(campaign)
    assert summary["winner"] == SUBJECTS[1]
    assert [(v["subject"], v["sent"], v["clicks"]) for v in summary["variants"]] == [
        (SUBJECTS[0], 10, 0),
        (SUBJECTS[1], 10, 3),
        (SUBJECTS[2], 10, 0),
    ]
    assert AuditLog.objects.filter(campaign=campaign, action="ab_winner", detail=SUBJECTS[1]).exists()


def test_an_opens_test_picks_by_opens_and_a_tie_goes_to_the_first_subject():
    figures = [ab_test.Variant(1, "a", sent=10), ab_test.Variant(2, "b", sent=10, opens=4), ab_test.Variant(3, "c")]
    assert ab_test.winner(figures, "opens").subject == "b"
    assert ab_test.winner(figures, "clicks").subject == "a"


def test_with_no_wait_the_winner_follows_the_sample_at_once(enqueued, django_capture_on_commit_callbacks):
    campaign = ab_campaign(40, percent=25, wait=0)
    send_sample(campaign, enqueued, django_capture_on_commit_callbacks)
    campaign.refresh_from_db()
    assert campaign.status == S.SENT
    assert len(mail.outbox) == 40 and len({m.to[0] for m in mail.outbox}) == 40
    assert ABTest.objects.get(campaign=campaign).winner == 1


def test_a_translation_keeps_its_own_subject_in_the_sample(enqueued, django_capture_on_commit_callbacks):
    campaign = ab_campaign(0, percent=99, wait=0)
    make_people(6, make_list(), prefix="es", language="es")
    campaign.translations.create(language="es", subject="Cajamarca: el agua es nuestra", body_markdown="Hola")
    send_sample(campaign, enqueued, django_capture_on_commit_callbacks)
    assert {m.subject for m in mail.outbox} == {"Cajamarca: el agua es nuestra"}


@pytest.fixture
def sender_and_writer():
    boss = User.objects.create_superuser("boss", "boss@example.org", "x")
    User.objects.create_user("writer", "writer@example.org", "x", is_staff=True)
    return boss


def test_the_circuit_breaker_pauses_before_the_rest_and_tells_staff(
    enqueued, django_capture_on_commit_callbacks, settings, sender_and_writer
):
    settings.TOCSIN_BREAKER_MIN_SAMPLE = 10
    campaign = ab_campaign(100, percent=40, wait=60)
    with django_capture_on_commit_callbacks(execute=False):
        send_sample(campaign, enqueued, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    for delivery in Delivery.objects.filter(campaign=campaign, variant=3)[:2]:
        event(delivery, DeliveryEvent.Kind.UNSUBSCRIBED)  # 2 of 13 or 14: over 2 %
    tasks.sweep()
    campaign.refresh_from_db()
    assert campaign.status == S.PAUSED
    assert "Circuit breaker" in campaign.status_reason and SUBJECTS[2] in campaign.status_reason
    assert Delivery.objects.filter(campaign=campaign, status=DS.HELD).count() == 60
    notice = OutboxMessage.objects.get(task="campaigns.tasks.tell_staff")
    assert notify.send_notice(campaign_id=notice.args[0], about=notice.args[1], detail=notice.args[2]) == 1
    assert mail.outbox[0].to == ["boss@example.org"] and "circuit breaker" in mail.outbox[0].subject
    assert "unsubscribes" in mail.outbox[0].body

    # Staff decide to go on: the breaker stays quiet, the winner goes out after the wait.
    ABTest.objects.filter(campaign=campaign).update(sample_sent_at=timezone.now() - timedelta(hours=2))
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.resume(campaign=campaign, actor=sender_and_writer)
    run_every_batch(campaign, enqueued, django_capture_on_commit_callbacks)
    campaign.refresh_from_db()
    assert campaign.status == S.SENT
    assert Delivery.objects.filter(campaign=campaign, status=DS.SENT).count() == 100


def test_complaints_in_the_whole_sample_trip_the_breaker(settings):
    settings.TOCSIN_BREAKER_MIN_SAMPLE = 100
    figures = [ab_test.Variant(1, "a", sent=60, complaints=0), ab_test.Variant(2, "b", sent=60, complaints=1)]
    assert ab_test.breaker_reason(figures) is not None  # 1 in 120 = 0.8 % > 0.3 %
    assert "sample as a whole" in ab_test.breaker_reason(figures)
    figures[1].complaints = 0
    assert ab_test.breaker_reason(figures) is None
    settings.TOCSIN_BREAKER_MIN_SAMPLE = 1000
    figures[1].complaints = 5
    assert ab_test.breaker_reason(figures) is None  # too few emails to judge


def test_someone_who_leaves_while_held_is_never_sent_the_winner(enqueued, django_capture_on_commit_callbacks):
    from subscribers.services import unsubscribe

    campaign = ab_campaign(20, percent=10, wait=60)
    send_sample(campaign, enqueued, django_capture_on_commit_callbacks)
    held = Delivery.objects.filter(campaign=campaign, status=DS.HELD).select_related("subscriber").first()
    unsubscribe(subscriber=held.subscriber, channel="page")
    held.refresh_from_db()
    assert held.status == DS.SKIPPED


def test_a_broken_merge_tag_in_a_test_subject_blocks_sending():
    campaign = ab_campaign(3)
    ABTest.objects.filter(campaign=campaign).update(subjects=["Fine", "Hello *|FNAME|*"])
    with pytest.raises(lifecycle.Refused, match="A/B test subject 2"):
        lifecycle.start(campaign=campaign, actor=None)
