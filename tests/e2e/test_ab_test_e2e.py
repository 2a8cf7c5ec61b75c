"""A/B tests and the frequency cap with a real worker, a real beat, Redis and an SMTP server.

The wait for the winner is never slept through: the test moves the stored
end of the sample's send back, and beat's sweeper (every 2 s here) finds it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone

from campaigns import lifecycle
from campaigns.models import ABTest, Campaign, Delivery, DeliveryEvent
from tests.support.factories import make_campaign, make_list, make_people
from tests.support.smtp import SMTPServer
from tests.support.waiting import wait_until
from tests.support.workers import WorkerProcess, start_beat, start_worker, stop

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
S = Campaign.Status
DS = Delivery.Status
SUBJECTS = ["The river is ours", "Three defenders detained", "Act for the river today"]


@pytest.fixture
def worker_and_beat(smtp_server: SMTPServer, tmp_path) -> Iterator[WorkerProcess]:  # type: ignore[no-untyped-def]
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    env = {"TOCSIN_SEND_SWEEP_SECONDS": "2", "TOCSIN_BREAKER_MIN_SAMPLE": "10", "TOCSIN_FREQUENCY_CAP": "1/24h"}
    worker = start_worker(smtp_server.url, "ab", **env)
    beat = start_beat(smtp_server.url, tmp_path / "beat", log=tmp_path / "beat.log", **env)
    try:
        yield worker
    finally:
        stop(beat)
        worker.stop()


def status_of(campaign: Campaign) -> str:
    return Campaign.objects.values_list("status", flat=True).get(pk=campaign.pk)


def ab_campaign(people: int, *, percent: int, wait: int) -> Campaign:
    peru = make_list()
    make_people(people, peru)
    campaign = make_campaign([peru], subject=SUBJECTS[0])
    ABTest.objects.create(campaign=campaign, subjects=SUBJECTS, sample_percent=percent, wait_minutes=wait)
    return campaign


def sample_is_out(campaign: Campaign) -> bool:
    return ABTest.objects.filter(campaign=campaign, sample_sent_at__isnull=False).exists()


def test_the_sample_then_the_winner_by_clicks_reach_everyone_once(worker_and_beat, smtp_server):
    campaign = ab_campaign(150, percent=30, wait=60)
    lifecycle.start(campaign=campaign, actor=None)

    sample = smtp_server.wait_for(45, timeout=60)
    wait_until(lambda: sample_is_out(campaign), message="the end of the sample's send noted")
    assert Counter(str(m["Subject"]) for m in sample) == {subject: 15 for subject in SUBJECTS}
    assert status_of(campaign) == S.SENDING
    assert Delivery.objects.filter(campaign=campaign, status=DS.HELD).count() == 105
    assert len(smtp_server.messages) == 45  # nothing more while the test waits

    for delivery in Delivery.objects.filter(campaign=campaign, variant=3)[:4]:
        DeliveryEvent.objects.create(
            delivery=delivery, campaign=campaign, kind=DeliveryEvent.Kind.CLICKED, event_id=f"c{delivery.pk}"
        )
    ABTest.objects.filter(campaign=campaign).update(sample_sent_at=timezone.now() - timedelta(minutes=61))

    wait_until(lambda: status_of(campaign) == S.SENT, timeout=90, message="the winner sent to the rest")
    messages = smtp_server.wait_for(150)
    assert Counter(str(m["To"]) for m in messages) == {f"person{i}@example.org": 1 for i in range(150)}
    assert Counter(str(m["Subject"]) for m in messages[45:]) == {SUBJECTS[2]: 105}
    campaign.refresh_from_db()
    assert campaign.subject == SUBJECTS[2]
    assert ABTest.objects.get(campaign=campaign).winner == 3


def test_the_circuit_breaker_pauses_before_the_rest_and_emails_staff(worker_and_beat, smtp_server):
    User.objects.create_superuser("boss", "boss@example.org", "x")
    campaign = ab_campaign(100, percent=40, wait=60)
    lifecycle.start(campaign=campaign, actor=None)
    smtp_server.wait_for(40, timeout=60)
    wait_until(lambda: sample_is_out(campaign), message="the end of the sample's send noted")

    for delivery in Delivery.objects.filter(campaign=campaign, variant=1)[:3]:
        DeliveryEvent.objects.create(
            delivery=delivery, campaign=campaign, kind=DeliveryEvent.Kind.COMPLAINED, event_id=f"x{delivery.pk}"
        )

    wait_until(lambda: status_of(campaign) == S.PAUSED, timeout=60, message="the breaker pausing the campaign")
    notice = smtp_server.wait_for(41, timeout=60)[40]
    assert str(notice["To"]) == "boss@example.org"
    assert "circuit breaker" in str(notice["Subject"])
    assert "complaints" in notice.get_body(("plain",)).get_content()
    assert Delivery.objects.filter(campaign=campaign, status=DS.HELD).count() == 60
    assert "Circuit breaker" in Campaign.objects.get(pk=campaign.pk).status_reason


def test_a_capped_audience_still_ends_sent_and_alerts_are_exempt(worker_and_beat, smtp_server):
    peru = make_list()
    people = make_people(5, peru)
    first = make_campaign([peru], subject="First bulletin")
    lifecycle.start(campaign=first, actor=None)
    smtp_server.wait_for(5, timeout=60)
    wait_until(lambda: status_of(first) == S.SENT, message="the first bulletin sent")

    second = make_campaign([peru], subject="Second bulletin")
    lifecycle.start(campaign=second, actor=None)
    wait_until(lambda: status_of(second) == S.SENT, message="the capped bulletin ending sent")
    second.refresh_from_db()
    assert second.frequency_capped == 5
    assert lifecycle.campaign_counts(second)["recipients"] == 0

    alert = make_campaign([peru], subject="Urgent: act now", kind=Campaign.Kind.ALERT)
    lifecycle.start(campaign=alert, actor=None)
    messages = smtp_server.wait_for(10, timeout=60)
    assert Counter(str(m["Subject"]) for m in messages) == {"First bulletin": 5, "Urgent: act now": 5}
    assert {str(m["To"]) for m in messages[5:]} == {p.email for p in people}
