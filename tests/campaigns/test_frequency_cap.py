"""The frequency cap: counted from the ledger, applied in the audience snapshot, alerts exempt."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.core import mail

from campaigns import lifecycle, tasks
from campaigns.models import RECENT_SENDS, Campaign, Delivery, SendBatch
from campaigns.rollup.rolling import roll_up
from campaigns.sending import audience, batching, engine, frequency
from config.env import ImproperlyConfiguredEnv, env_cap
from tests.support import ROOT
from tests.support.factories import make_campaign, make_list, make_people
from tests.support.sending import mail_earlier

pytestmark = pytest.mark.django_db
S = Campaign.Status
DS = Delivery.Status


def received(people, *, times: int, days_ago: float = 1, refused: bool = False, kind: str = "bulletin") -> None:
    """Send ``people`` ``times`` earlier campaigns through the engine, ``days_ago`` (``refused``: failed, not sent)."""
    for _ in range(times):
        mail_earlier(people, days_ago=days_ago, kind=kind, refused=refused)
    mail.outbox.clear()


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
    received(quiet, times=3, refused=True)  # never received
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


def test_sends_stay_counted_after_their_ledger_rows_are_rolled_up(capped):
    peru = make_list()
    busy, quiet = make_people(2, peru, prefix="busy"), make_people(2, peru)
    received(busy, times=2)
    received(quiet, times=1)
    for earlier in Campaign.objects.filter(status=S.SENT):
        roll_up(earlier.pk)
    assert not Delivery.objects.exists(), "the earlier campaigns' rows are gone"
    bulletin = make_campaign([peru])
    assert (audience.count_audience(bulletin), audience.count_capped(bulletin)) == (2, 2)
    assert frequency.capped_among([p.pk for p in busy + quiet]) == {p.pk for p in busy}


@pytest.mark.parametrize("kind", [Campaign.Kind.ALERT, Campaign.Kind.APPEAL])
def test_what_any_kind_sent_counts_even_an_exempt_alert(capped, kind):
    peru = make_list()
    busy = make_people(2, peru, prefix="busy")
    make_people(1, peru)
    received(busy, times=2, kind=kind)
    bulletin = make_campaign([peru])
    assert (audience.count_audience(bulletin), audience.count_capped(bulletin)) == (1, 2)


def test_a_cap_of_more_emails_than_each_person_keeps_counts_the_same_people(settings):
    settings.TOCSIN_FREQUENCY_CAP = (RECENT_SENDS + 1, 30 * 24)
    settings.TOCSIN_FREQUENCY_CAP_EXEMPT = ["alert"]
    peru = make_list()
    busy, some = make_people(2, peru, prefix="busy"), make_people(2, peru)
    received(some, times=RECENT_SENDS, days_ago=2)
    received(busy, times=RECENT_SENDS + 1, days_ago=3)
    bulletin = make_campaign([peru])
    assert (audience.count_audience(bulletin), audience.count_capped(bulletin)) == (2, 2)
    assert frequency.capped_among([p.pk for p in busy + some]) == {p.pk for p in busy}


def test_the_newest_sends_count_and_older_ones_make_room(capped):
    # Twelve old emails then one recent: the recent one is kept, whatever came before.
    peru = make_list()
    (person,) = make_people(1, peru)
    received([person], times=12, days_ago=20)
    received([person], times=1, days_ago=1)
    bulletin = make_campaign([peru])
    assert audience.count_capped(bulletin) == 0
    received([person], times=1, days_ago=0.5)
    assert audience.count_capped(bulletin) == 1


def test_sends_noted_out_of_order_keep_the_newest(capped):
    # A campaign's batch can finish (and be noted) after a later one's: here a send of
    # yesterday is noted before twelve of three weeks ago, which must not push it out.
    peru = make_list()
    (person,) = make_people(1, peru)
    received([person], times=1, days_ago=1)
    received([person], times=12, days_ago=20)
    received([person], times=1, days_ago=3)
    bulletin = make_campaign([peru])
    assert audience.count_capped(bulletin) == 1
    assert frequency.capped_among([person.pk]) == {person.pk}


def test_a_re_run_snapshot_does_not_count_the_campaigns_own_sends(capped, monkeypatch):
    capped.TOCSIN_FREQUENCY_CAP = (2, 7 * 24)
    peru = make_list()
    people = make_people(3, peru)
    received(people, times=1)
    bulletin = make_campaign([peru], status=S.SENDING)
    audience.snapshot(bulletin)
    batching.cut_batches(bulletin, size=1000)
    batch = SendBatch.objects.get(campaign=bulletin)
    engine.run_batch(bulletin.pk, batch.first_id, batch.last_id)
    assert Delivery.objects.filter(campaign=bulletin, status=DS.SENT).count() == 3
    audience.snapshot(bulletin)  # as a resumed campaign's prepare would
    bulletin.refresh_from_db()
    assert bulletin.frequency_capped == 0, "its own sends are not 'already received'"
    assert audience.count_capped(make_campaign([peru])) == 3
    received(people[:1], times=1, days_ago=0.01)  # another email since: two besides this one
    audience.snapshot(bulletin)
    bulletin.refresh_from_db()
    assert bulletin.frequency_capped == 1


_BACKFILL_SCRIPT = """
import django, json
from datetime import datetime, timedelta, timezone
django.setup()
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
before = [("campaigns", "0010_ledger_rollup"), ("subscribers", "0004_labels_in_the_staffs_language")]
executor = MigrationExecutor(connection)
executor.migrate(before)
apps = executor.loader.project_state(before).apps
Subscriber = apps.get_model("subscribers", "Subscriber")
Campaign = apps.get_model("campaigns", "Campaign")
Delivery = apps.get_model("campaigns", "Delivery")
busy = Subscriber.objects.create(email="busy@example.org", status="confirmed")
failed = Subscriber.objects.create(email="failed@example.org", status="confirmed")
Subscriber.objects.create(email="never@example.org", status="confirmed")
now = datetime(2026, 12, 1, tzinfo=timezone.utc)
for n in range(10):
    campaign = Campaign.objects.create(subject=f"c{n}", status="sent", attribution_code=f"code{n}")
    Delivery.objects.create(campaign=campaign, subscriber=busy, status="sent", sent_at=now - timedelta(days=n))
    Delivery.objects.create(campaign=campaign, subscriber=failed, status="failed")
MigrationExecutor(connection).migrate([("campaigns", "0012_recent_sends_for_the_frequency_cap")])
RecentSends = MigrationExecutor(connection).loader.project_state(
    [("campaigns", "0012_recent_sends_for_the_frequency_cap")]
).apps.get_model("campaigns", "RecentSends")
rows = {}
for row in RecentSends.objects.all():
    rows[row.subscriber.email] = [
        [(now - getattr(row, f"sent_{slot}")).days, Campaign.objects.get(pk=getattr(row, f"campaign_{slot}")).subject]
        for slot in range(1, 9)
    ]
print(json.dumps(rows))
"""


def test_the_migration_fills_each_persons_latest_sends_from_the_ledger(tmp_path):
    # The suite runs with --nomigrations: the real migrations run in a process of their own.
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'migrate.sqlite3'}",
        "TOCSIN_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    result = subprocess.run(
        [sys.executable, "-c", _BACKFILL_SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = json.loads(result.stdout.strip().splitlines()[-1])
    assert rows == {"busy@example.org": [[n, f"c{n}"] for n in range(8)]}, "the newest eight, newest first"


def test_a_cap_counted_from_the_ledger_over_a_window_longer_than_it_keeps_is_a_warning_at_start(settings):
    # Up to seven per window is read from each person's latest sends, which the
    # roll-up leaves alone; more is counted from the ledger, which forgets
    # rows after TOCSIN_LEDGER_RETENTION_DAYS: the cap would quietly let mail through.
    from django.core.checks import run_checks

    settings.TOCSIN_LEDGER_RETENTION_DAYS = 30
    settings.TOCSIN_FREQUENCY_CAP = (10, 60 * 24)  # 10/60d
    warnings = [message for message in run_checks() if message.id == "tocsin.W001"]
    assert len(warnings) == 1
    assert "60 days" in warnings[0].msg and "30 days" in warnings[0].msg

    settings.TOCSIN_FREQUENCY_CAP = (3, 60 * 24)  # read from RecentSends: any window
    assert not [message for message in run_checks() if message.id == "tocsin.W001"]
    settings.TOCSIN_FREQUENCY_CAP = (10, 30 * 24)
    assert not [message for message in run_checks() if message.id == "tocsin.W001"]
    settings.TOCSIN_LEDGER_RETENTION_DAYS = 0  # never rolled up
    settings.TOCSIN_FREQUENCY_CAP = (10, 60 * 24)
    assert not [message for message in run_checks() if message.id == "tocsin.W001"]
