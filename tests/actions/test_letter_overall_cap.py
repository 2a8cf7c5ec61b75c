"""TOCSIN_LETTERS_PER_TARGET_PER_DAY: one target's emails a day across every action, letters and digests alike.

A digest is one email, so it counts as one. Test letters (to staff) are never
capped and never count. What the cap holds back waits for the next day (the
organisation's ``TIME_ZONE``), as with an action's own daily cap, and the
action's page says why.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from actions import services
from actions.models import Action, Letter, LetterDigest
from actions.sending import letters
from actions.tasks import sweep_letters
from config.env import ImproperlyConfiguredEnv, env_count
from tests.support.factories import letter, riding_map
from tests.support.personas import staff, verified
from tests.support.threads import together

L = Letter.Status
ANA = "ana.tremblay@parl.example"


def sign(action: Action, n: int, **fields):  # type: ignore[no-untyped-def]
    values = {"email": f"person{n}@example.org", "name": f"Person {n}", "postal_code": "K1A 0B1", **fields}
    return services.sign(action=action, **values)


def local(hour: int, day_offset: int = 0) -> datetime:
    today = timezone.localdate() + timedelta(days=day_offset)
    return timezone.make_aware(datetime.combine(today, datetime.min.time()).replace(hour=hour))


def to_ana() -> list[str]:
    return [message.subject for message in mail.outbox if any(ANA in to for to in message.to)]


@pytest.fixture
def three_actions(db, settings):  # type: ignore[no-untyped-def]
    settings.TOCSIN_LETTERS_PER_TARGET_PER_DAY = 2
    riding_map()
    return [letter(f"action-{n}", letter_subject=f"Subject {n}") for n in range(3)]


@pytest.mark.django_db
def test_one_target_gets_no_more_than_the_overall_cap_from_all_actions_together(three_actions):
    with time_machine.travel(local(10), tick=False):
        for n, action in enumerate(three_actions):
            sign(action, n)
        result = letters.deliver(list(Letter.objects.order_by("id").values_list("id", flat=True)))
        assert (result.sent, result.deferred) == (2, 1)
        assert len(to_ana()) == 2
        waiting = Letter.objects.get(status=L.PENDING)
        assert waiting.action == three_actions[2]
        assert waiting.not_before == local(0, day_offset=1)
        assert sweep_letters()["letters_queued"] == 0  # not before tomorrow
    with time_machine.travel(local(0, day_offset=1) + timedelta(minutes=1), tick=False):
        sweep_letters()
    assert Letter.objects.filter(status=L.SENT).count() == 3 and len(to_ana()) == 3


@pytest.mark.django_db
def test_once_a_target_had_its_emails_all_its_waiting_letters_wait_for_the_next_day_at_once(three_actions, settings):
    settings.TOCSIN_LETTERS_PER_TARGET_PER_DAY = 1
    with time_machine.travel(local(10), tick=False):
        for n, action in enumerate(three_actions):
            sign(action, n)
        first, second, third = Letter.objects.order_by("id")
        letters.deliver([first.pk, second.pk])  # the third was never tried: nothing reaches Ana today anyway
        third.refresh_from_db()
        assert (third.status, third.not_before) == (L.PENDING, local(0, day_offset=1))
        assert sweep_letters()["letters_queued"] == 0  # the sweeper does not queue it again and again today
        (row,) = services.letter_counts_by_target(three_actions[2])
        assert row["waiting_overall_cap"] == 1


@pytest.mark.django_db
def test_without_the_setting_there_is_no_overall_cap(three_actions, settings):
    settings.TOCSIN_LETTERS_PER_TARGET_PER_DAY = None
    for n, action in enumerate(three_actions):
        sign(action, n)
    letters.deliver(list(Letter.objects.values_list("id", flat=True)))
    assert len(to_ana()) == 3


@pytest.mark.django_db
def test_a_digest_counts_as_one_email(three_actions):
    in_digest, one_by_one, _other = three_actions
    Action.objects.filter(pk=in_digest.pk).update(delivery_mode=Action.DeliveryMode.DIGEST, digest_hour=8)
    with time_machine.travel(local(7), tick=False):
        for n in range(3):
            sign(in_digest, n)
    with time_machine.travel(local(8) + timedelta(minutes=1), tick=False):
        sweep_letters()  # one digest of three letters: one email of the two allowed today
        assert to_ana() == [
            "3 letters from constituents: Ask your MP to back binding rules for mining companies abroad"
        ]
        for n in range(3, 5):
            sign(one_by_one, n)
        result = letters.deliver(list(Letter.objects.filter(action=one_by_one).values_list("id", flat=True)))
        assert (result.sent, result.deferred) == (1, 1)
    assert len(to_ana()) == 2


@pytest.mark.django_db
def test_a_digest_over_the_overall_cap_waits_for_the_next_days_digest(three_actions, settings):
    settings.TOCSIN_LETTERS_PER_TARGET_PER_DAY = 1
    in_digest, one_by_one, _other = three_actions
    Action.objects.filter(pk=in_digest.pk).update(delivery_mode=Action.DeliveryMode.DIGEST, digest_hour=8)
    with time_machine.travel(local(7), tick=False):
        sign(one_by_one, 0)
        letters.deliver(list(Letter.objects.values_list("id", flat=True)))
        for n in range(1, 3):
            sign(in_digest, n)
    with time_machine.travel(local(8) + timedelta(minutes=1), tick=False):
        sweep_letters()
        sweep_letters()  # the day's digest is not built twice
    assert len(to_ana()) == 1
    held = Letter.objects.filter(action=in_digest)
    assert set(held.values_list("status", flat=True)) == {L.PENDING}
    with time_machine.travel(local(7, day_offset=1), tick=False):
        sign(in_digest, 3)
    with time_machine.travel(local(8, day_offset=1) + timedelta(minutes=1), tick=False):
        sweep_letters()
    # The next day: one digest with yesterday's letters and today's, not two.
    assert to_ana()[1].startswith("3 letters from constituents")
    assert set(held.values_list("status", flat=True)) == {L.SENT}
    assert LetterDigest.objects.filter(status=L.SENT).count() == 1


@pytest.mark.django_db
def test_test_letters_to_staff_are_never_capped_and_do_not_count(db, settings):
    settings.TOCSIN_LETTERS_PER_TARGET_PER_DAY = 1
    riding_map()
    trial = letter("trial", status=Action.Status.DRAFT, test_mode=True, test_email="staff@example.org")
    real = letter("real")
    for n in range(3):
        sign(trial, n)
    sign(real, 9)
    result = letters.deliver(list(Letter.objects.order_by("id").values_list("id", flat=True)))
    assert (result.sent, result.deferred) == (4, 0)
    assert [message.to for message in mail.outbox].count(["staff@example.org"]) == 3
    assert len(to_ana()) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_never_both_send_past_the_overall_cap(settings):
    """Two workers, each with another action's letter to the same MP, one place left today: one letter goes."""
    settings.TOCSIN_LETTERS_PER_TARGET_PER_DAY = 1
    riding_map()
    first, second = letter("first"), letter("second")
    sign(first, 1)
    sign(second, 2)
    ids = list(Letter.objects.order_by("id").values_list("id", flat=True))
    # A race is won or lost by timing: several rounds, each from two pending letters and nothing sent.
    for _round in range(5):
        Letter.objects.update(
            status=L.PENDING, claimed_at=None, sent_at=None, not_before=None, lease_until=None, error=""
        )
        mail.outbox.clear()
        errors = together(letters.deliver, *[([letter_id],) for letter_id in ids])

        assert errors == []
        assert Letter.objects.filter(status=L.SENT).count() == 1
        assert Letter.objects.filter(status=L.PENDING).count() == 1
        assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_the_actions_page_shows_letters_waiting_for_the_next_day_and_why(three_actions, client):
    for n, action in enumerate(three_actions):
        sign(action, n)
    letters.deliver(list(Letter.objects.values_list("id", flat=True)))
    rows = services.letter_counts_by_target(three_actions[2])
    assert [(row["pending"], row["waiting_overall_cap"]) for row in rows] == [(1, 1)]
    boss = staff("boss", None)
    boss.is_superuser = True
    boss.save()
    html = verified(client, boss).get(reverse("admin:actions_action_change", args=[three_actions[2].pk]))
    text = html.content.decode()
    assert "1 waiting for the next day: this target has had the organisation’s 2 emails for today" in text
    assert "Across all actions, one target gets at most 2 emails a day from the organisation" in text
    report = client.get(reverse("admin:actions_action_report", args=[three_actions[2].pk])).content.decode()
    assert "1 waiting for the next day: this target has had the organisation’s 2 emails for today" in report


@pytest.mark.django_db
def test_the_actions_own_daily_cap_says_so_too(db):
    riding_map()
    action = letter(daily_cap=1)
    for n in range(2):
        sign(action, n)
    letters.deliver(list(Letter.objects.values_list("id", flat=True)))
    (row,) = services.letter_counts_by_target(action)
    assert (row["pending"], row["waiting_action_cap"], row["waiting_overall_cap"]) == (1, 1, 0)


@pytest.mark.parametrize("raw", ["0", "-3", "many", "2.5"])
def test_a_bad_overall_cap_is_refused_at_start(monkeypatch, raw):
    monkeypatch.setenv("TOCSIN_LETTERS_PER_TARGET_PER_DAY", raw)
    with pytest.raises(ImproperlyConfiguredEnv, match="TOCSIN_LETTERS_PER_TARGET_PER_DAY"):
        env_count("TOCSIN_LETTERS_PER_TARGET_PER_DAY")


def test_an_unset_or_empty_overall_cap_is_no_cap(monkeypatch):
    monkeypatch.setenv("TOCSIN_LETTERS_PER_TARGET_PER_DAY", " ")
    assert env_count("TOCSIN_LETTERS_PER_TARGET_PER_DAY") is None
    monkeypatch.setenv("TOCSIN_LETTERS_PER_TARGET_PER_DAY", "40")
    assert env_count("TOCSIN_LETTERS_PER_TARGET_PER_DAY") == 40
