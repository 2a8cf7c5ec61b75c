"""The frequency cap: counted from the ledger, applied in the audience snapshot, alerts exempt."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from campaigns import lifecycle, tasks
from campaigns.models import Campaign, Delivery
from campaigns.sending import audience, frequency
from config.env import ImproperlyConfiguredEnv, env_cap
from tests.support import ROOT
from tests.support.factories import make_campaign, make_list, make_people

pytestmark = pytest.mark.django_db
S = Campaign.Status
DS = Delivery.Status


def received(people, *, times: int, days_ago: float = 1, status: str = DS.SENT, kind: str = "bulletin") -> None:
    """Give each of ``people`` ``times`` emails of earlier campaigns, sent ``days_ago``."""
    when = timezone.now() - timedelta(days=days_ago)
    for n in range(times):
        earlier = Campaign.objects.create(subject=f"Earlier {n}", kind=kind, status=S.SENT)
        Delivery.objects.bulk_create(
            [Delivery(campaign=earlier, subscriber=p, status=status, sent_at=when) for p in people]
        )


@pytest.fixture
def capped(settings):
    settings.TOCSIN_FREQUENCY_CAP = (2, 7 * 24)
    settings.TOCSIN_FREQUENCY_CAP_EXEMPT = ["alert"]
    return settings


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("2/7d", (2, 168)), ("3/30d", (3, 720)), ("1/24h", (1, 24)), (" 2 / 7D ", (2, 168)), ("", None)],
)
def test_the_cap_is_read_as_count_per_window(monkeypatch, raw, expected):
    monkeypatch.setenv("TOCSIN_FREQUENCY_CAP", raw)
    assert env_cap("TOCSIN_FREQUENCY_CAP") == expected


@pytest.mark.parametrize("raw", ["2", "2/7", "two/7d", "0/7d", "2/0d", "2/7m", "-1/7d", "2/7d3"])
def test_a_cap_that_makes_no_sense_is_refused_with_an_example(monkeypatch, raw):
    monkeypatch.setenv("TOCSIN_FREQUENCY_CAP", raw)
    with pytest.raises(ImproperlyConfiguredEnv, match=r"e\.g\. 2/7d"):
        env_cap("TOCSIN_FREQUENCY_CAP")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("TOCSIN_FREQUENCY_CAP", "2 per week", "is not a frequency cap"),
        ("TOCSIN_FREQUENCY_CAP_EXEMPT", "alert,newsletter", "TOCSIN_FREQUENCY_CAP_EXEMPT names ['newsletter']"),
    ],
)
def test_tocsin_refuses_to_start_with_a_bad_cap(name, value, message):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", name: value}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert message in result.stderr


def test_people_who_received_that_many_in_the_window_are_held_back(capped):
    peru = make_list()
    busy, some, quiet = make_people(3, peru, prefix="busy"), make_people(2, peru, prefix="some"), make_people(4, peru)
    received(busy, times=2)
    received(some, times=1)
    received(quiet, times=5, days_ago=8)  # outside the window
    received(quiet, times=3, status=DS.FAILED)  # never received
    bulletin = make_campaign([peru])
    assert audience.count_audience(bulletin) == 6
    assert audience.count_capped(bulletin) == 3
    assert lifecycle.campaign_counts(bulletin)["capped"] == 3


def test_alerts_are_exempt_and_the_exemption_is_a_setting(capped):
    peru = make_list()
    busy = make_people(3, peru)
    received(busy, times=4)
    alert = make_campaign([peru], kind=Campaign.Kind.ALERT)
    appeal = make_campaign([peru], kind=Campaign.Kind.APPEAL)
    assert (audience.count_audience(alert), audience.count_capped(alert)) == (3, 0)
    assert (audience.count_audience(appeal), audience.count_capped(appeal)) == (0, 3)
    capped.TOCSIN_FREQUENCY_CAP_EXEMPT = []
    assert (audience.count_audience(alert), audience.count_capped(alert)) == (0, 3)
    capped.TOCSIN_FREQUENCY_CAP_EXEMPT = ["alert", "appeal"]
    assert (audience.count_audience(appeal), audience.count_capped(appeal)) == (3, 0)


def test_without_a_cap_nobody_is_held_back(settings):
    settings.TOCSIN_FREQUENCY_CAP = None
    peru = make_list()
    busy = make_people(3, peru)
    received(busy, times=9)
    bulletin = make_campaign([peru])
    assert (audience.count_audience(bulletin), audience.count_capped(bulletin)) == (3, 0)


def test_the_snapshot_leaves_them_out_and_keeps_the_count(capped, django_capture_on_commit_callbacks, monkeypatch):
    monkeypatch.setattr("campaigns.tasks.enqueue_batch", lambda ref, *, queue, countdown=None: None)
    peru = make_list()
    busy, quiet = make_people(3, peru, prefix="busy"), make_people(4, peru)
    received(busy, times=2)
    bulletin = make_campaign([peru])
    lifecycle.start(campaign=bulletin, actor=None)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.prepare(bulletin.pk) == 4
    assert set(Delivery.objects.filter(campaign=bulletin).values_list("subscriber_id", flat=True)) == {
        p.pk for p in quiet
    }
    received(quiet, times=2)  # after the snapshot: the stored count stands
    bulletin.refresh_from_db()
    counts = lifecycle.campaign_counts(bulletin)
    assert counts["capped"] == 3 and counts["recipients"] == 4


def test_a_campaign_whose_whole_audience_is_capped_still_ends_sent(capped, django_capture_on_commit_callbacks):
    peru = make_list()
    received(make_people(5, peru), times=2)
    bulletin = make_campaign([peru])
    lifecycle.start(campaign=bulletin, actor=None)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.prepare(bulletin.pk)
    bulletin.refresh_from_db()
    assert bulletin.status == S.SENT
    assert lifecycle.campaign_counts(bulletin) == {
        "recipients": 0,
        "sent": 0,
        "failed": 0,
        "unknown": 0,
        "pending": 0,
        "skipped": 0,
        "capped": 5,
    }
    assert mail.outbox == []


def test_journeys_ask_which_of_their_people_the_cap_holds_back(capped):
    peru = make_list()
    busy, quiet = make_people(2, peru, prefix="busy"), make_people(2, peru)
    received(busy, times=2)
    received(quiet, times=1)
    ids = [p.pk for p in busy + quiet]
    assert frequency.capped_among(ids) == {p.pk for p in busy}
    capped.TOCSIN_FREQUENCY_CAP_EXEMPT = ["alert", "journey"]
    assert frequency.capped_among(ids) == set()
