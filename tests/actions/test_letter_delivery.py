"""Letters through actions/sending/: once each, retried with back-off, capped per day, in digests, in test mode.

The steps run here in-process (the tasks eagerly, at commit); the queue and
a real worker are exercised by tests/e2e/test_letters_e2e.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from actions import services
from actions.models import Action, Letter, LetterDigest
from actions.sending import claims, digest, letters
from actions.tasks import retry_failed, sweep_letters
from tests.support.factories import letter, riding_map, target
from tests.support.smtp import CountingHandler, smtp_on_localhost

pytestmark = pytest.mark.django_db

L = Letter.Status


def sign(action: Action, n: int = 0, **fields):  # type: ignore[no-untyped-def]
    values = {"email": f"person{n}@example.org", "name": f"Person {n}", "postal_code": "K1A 0B1", **fields}
    return services.sign(action=action, **values)


@pytest.fixture
def ridings(db):  # type: ignore[no-untyped-def]
    return riding_map()


def local(hour: int, day_offset: int = 0) -> datetime:
    today = timezone.localdate() + timedelta(days=day_offset)
    return timezone.make_aware(datetime.combine(today, datetime.min.time()).replace(hour=hour))


# --- each letter as it comes -----------------------------------------------------------------


def test_a_signed_letter_goes_out_once_the_signature_commits(ridings, django_capture_on_commit_callbacks):
    action = letter()
    with django_capture_on_commit_callbacks(execute=True):
        sign(action)
    assert [message.to for message in mail.outbox] == [["Ana Tremblay <ana.tremblay@parl.example>"]]
    sent = Letter.objects.get()
    assert (sent.status, sent.attempts, sent.lease_until) == (L.SENT, 1, None)
    assert "tocsin.letter." in sent.esp_message_id


def test_delivering_the_same_letters_again_sends_nothing(ridings, django_capture_on_commit_callbacks):
    action = letter()
    with django_capture_on_commit_callbacks(execute=True):
        sign(action)
    ids = list(Letter.objects.values_list("id", flat=True))
    again = letters.deliver(ids)
    assert (again.sent, len(mail.outbox)) == (0, 1)


def test_a_claimed_letter_cannot_be_claimed_twice(ridings):
    action = letter()
    sign(action)
    letter_id = Letter.objects.get().pk
    assert claims.claim_letter(letter_id)
    assert not claims.claim_letter(letter_id)


def test_the_sweeper_calls_a_letter_left_sending_unknown_and_never_sends_it(ridings, settings):
    action = letter()
    sign(action)
    stuck = Letter.objects.get()
    claims.claim_letter(stuck.pk)
    Letter.objects.filter(pk=stuck.pk).update(claimed_at=timezone.now() - timedelta(hours=1))
    sweep_letters()
    stuck.refresh_from_db()
    assert stuck.status == L.UNKNOWN and "worker stopped" in stuck.error
    assert not mail.outbox


def test_the_sweeper_sends_what_was_left_pending(ridings):
    action = letter()
    sign(action)  # no commit callbacks here: as if the broker had been down
    Letter.objects.update(lease_until=None)
    summary = sweep_letters()
    assert summary["letters_queued"] == 1
    assert Letter.objects.get().status == L.SENT and len(mail.outbox) == 1


def test_a_leased_letter_is_not_queued_twice_by_the_sweeper(ridings):
    action = letter()
    sign(action)
    Letter.objects.update(lease_until=timezone.now() + timedelta(minutes=5))
    assert sweep_letters()["letters_queued"] == 0


def test_a_letter_signed_a_moment_ago_is_left_to_its_own_task_by_the_sweeper(ridings):
    action = letter()
    sign(action)  # its task is not run here: as if the worker had not picked it up yet
    assert sweep_letters()["letters_queued"] == 0
    assert Letter.objects.get().status == L.PENDING and not mail.outbox


def test_a_letter_kept_for_the_digest_or_by_hand_is_not_leased_to_a_task(ridings):
    action = letter(fixed=[target("Minister", "minister@gov.example", groups=(), do_not_email=True)])
    action.delivery_mode = Action.DeliveryMode.DIGEST
    action.save()
    sign(action)
    assert set(Letter.objects.values_list("status", "lease_until")) == {(L.PENDING, None), (L.BY_HAND, None)}


def test_an_erased_signer_or_a_target_that_takes_no_email_gets_nothing(ridings):
    action = letter(fixed=[target("Minister", "minister@gov.example", groups=())])
    sign(action)
    ids = list(Letter.objects.values_list("id", flat=True))
    ridings["mp_north"].__class__.objects.filter(email="minister@gov.example").update(do_not_email=True)
    result = letters.deliver(ids)
    assert (result.sent, result.skipped) == (1, 1)
    assert Letter.objects.get(target__email="minister@gov.example").status == L.BY_HAND


# --- transient failures: back-off, then give up; staff retry ----------------------------------


@pytest.fixture
def refusing_smtp(settings):  # type: ignore[no-untyped-def]
    handler = CountingHandler(delay=0, refuse_first=1000)
    with smtp_on_localhost(handler) as url:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", int(url.rsplit(":", 1)[1])
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        yield handler


def test_a_refusal_for_now_puts_the_letter_back_and_stops_the_run(ridings, refusing_smtp):
    action = letter(fixed=[target("Minister", "minister@gov.example", groups=())])
    sign(action)
    ids = list(Letter.objects.order_by("id").values_list("id", flat=True))
    result = letters.deliver(ids)
    assert result.retry_error.startswith("SMTP") and result.retry_ids == ids
    first, second = Letter.objects.order_by("id")
    assert (first.status, first.attempts, second.status, second.attempts) == (L.PENDING, 1, L.PENDING, 0)


def test_a_letter_that_keeps_being_refused_fails_after_its_attempts_and_staff_can_retry_it(
    ridings, refusing_smtp, settings
):
    settings.TOCSIN_SEND_MAX_FAILURES = 2  # four attempts per letter
    action = letter()
    sign(action)
    stubborn = Letter.objects.get()
    for _attempt in range(4):
        letters.deliver([stubborn.pk])
    stubborn.refresh_from_db()
    assert stubborn.status == L.FAILED and stubborn.error.startswith("gave up after 4 attempts")

    refusing_smtp.refuse_first = 0
    assert retry_failed(action=action) == 1
    stubborn.refresh_from_db()
    assert (stubborn.status, stubborn.attempts, stubborn.error) == (L.PENDING, 0, "")
    sweep_letters()
    stubborn.refresh_from_db()
    assert stubborn.status == L.SENT and sum(refusing_smtp.received.values()) == 1


def test_a_permanent_refusal_fails_the_letter_at_once_and_the_run_goes_on(ridings, settings):
    class Refusing:
        def __init__(self) -> None:
            self.handler = CountingHandler(delay=0)

        async def handle_RCPT(self, server, session, envelope, address, options):  # type: ignore[no-untyped-def]
            if address.startswith("ana."):
                return "550 5.1.1 No such user"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
            return await self.handler.handle_DATA(server, session, envelope)

    refusing = Refusing()
    with smtp_on_localhost(refusing) as url:  # type: ignore[arg-type]
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", int(url.rsplit(":", 1)[1])
        action = letter(fixed=[target("Minister", "minister@gov.example", groups=())])
        sign(action)
        result = letters.deliver(list(Letter.objects.values_list("id", flat=True)))
    assert (result.sent, result.failed, result.retry_ids) == (1, 1, [])
    failed = Letter.objects.get(status=L.FAILED)
    assert failed.target.email == "ana.tremblay@parl.example" and "550" in failed.error


# --- a daily cap per target ---------------------------------------------------------------------


def test_the_daily_cap_holds_the_rest_until_the_next_day(ridings):
    action = letter(daily_cap=2)
    with time_machine.travel(local(10), tick=False):
        for n in range(3):
            sign(action, n)
        ids = list(Letter.objects.order_by("id").values_list("id", flat=True))
        result = letters.deliver(ids)
        assert (result.sent, result.deferred) == (2, 1)
        waiting = Letter.objects.get(status=L.PENDING)
        assert waiting.not_before == local(0, day_offset=1)
        assert sweep_letters()["letters_queued"] == 0  # not before tomorrow
    with time_machine.travel(local(0, day_offset=1) + timedelta(minutes=1), tick=False):
        sweep_letters()
    assert Letter.objects.filter(status=L.SENT).count() == 3 and len(mail.outbox) == 3


def test_the_cap_counts_per_target(ridings):
    action = letter(daily_cap=1, by_district=False, fixed=[target("Minister", "minister@gov.example", groups=())])
    for n in range(2):
        sign(action, n)
    letters.deliver(list(Letter.objects.values_list("id", flat=True)))
    sent_to = sorted(Letter.objects.filter(status=L.SENT).values_list("target__email", flat=True))
    # One per target: the minister once, one MP (every MP of the group, by_district off) once each.
    assert sent_to.count("minister@gov.example") == 1
    assert len(sent_to) == len(set(sent_to))


# --- daily digests ---------------------------------------------------------------------------------


def test_a_digest_gathers_the_days_letters_per_target_at_the_hour_set(ridings):
    action = letter(delivery_mode=Action.DeliveryMode.DIGEST, digest_hour=17)
    with time_machine.travel(local(9), tick=False):
        for n in range(3):
            sign(action, n, message=f"Words of person {n}.")
        assert sweep_letters()["letters_queued"] == 0  # nothing one by one in digest mode
    with time_machine.travel(local(16, 0) + timedelta(minutes=59), tick=False):
        assert sweep_letters()["digests_built"] == 0
    with time_machine.travel(local(17) + timedelta(minutes=1), tick=False):
        sign(action, 9)  # after the hour: tomorrow's digest
        summary = sweep_letters()
        assert (summary["digests_built"], summary["digests_queued"]) == (1, 1)
        assert sweep_letters()["digests_built"] == 0  # once a day
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["Ana Tremblay <ana.tremblay@parl.example>"]
    assert message.subject.startswith("3 letters from constituents")
    for n in range(3):
        assert f"Words of person {n}." in str(message.body)
    the_digest = LetterDigest.objects.get()
    assert the_digest.status == L.SENT and the_digest.day == local(17).date()
    assert Letter.objects.filter(digest=the_digest, status=L.SENT).count() == 3
    assert Letter.objects.get(status=L.PENDING).signature.email == "person9@example.org"

    with time_machine.travel(local(17, day_offset=1) + timedelta(minutes=1), tick=False):
        sweep_letters()
    assert len(mail.outbox) == 2 and mail.outbox[1].subject.startswith("1 letter from constituents")


def test_a_digest_holds_at_most_the_daily_cap(ridings):
    action = letter(delivery_mode=Action.DeliveryMode.DIGEST, digest_hour=8, daily_cap=2)
    with time_machine.travel(local(7), tick=False):
        for n in range(3):
            sign(action, n)
    with time_machine.travel(local(8, 0) + timedelta(minutes=5), tick=False):
        sweep_letters()
    assert mail.outbox[0].subject.startswith("2 letters")
    with time_machine.travel(local(8, day_offset=1) + timedelta(minutes=5), tick=False):
        sweep_letters()
    assert mail.outbox[1].subject.startswith("1 letter ")
    assert Letter.objects.filter(status=L.SENT).count() == 3


def test_a_digest_left_sending_by_a_dead_worker_is_unknown_with_its_letters(ridings):
    action = letter(delivery_mode=Action.DeliveryMode.DIGEST, digest_hour=0)
    with time_machine.travel(local(1), tick=False):
        sign(action)
    with time_machine.travel(local(0, day_offset=1) + timedelta(minutes=1), tick=False):
        (digest_id,) = digest.build_due()
        # Claimed (the claim committed), then the worker died before recording anything.
        LetterDigest.objects.filter(pk=digest_id).update(status=L.SENDING, claimed_at=timezone.now())
        Letter.objects.filter(digest_id=digest_id).update(status=L.SENDING)
    with time_machine.travel(local(1, day_offset=1), tick=False):
        sweep_letters()
    assert LetterDigest.objects.get(pk=digest_id).status == L.UNKNOWN
    assert set(Letter.objects.filter(digest_id=digest_id).values_list("status", flat=True)) == {L.UNKNOWN}
    assert not mail.outbox


# --- test mode ----------------------------------------------------------------------------------------


def test_in_test_mode_a_draft_takes_signatures_and_its_letters_go_to_the_test_address(
    ridings, django_capture_on_commit_callbacks
):
    action = letter(status=Action.Status.DRAFT, test_mode=True, test_email="staff@ngo.example")
    with django_capture_on_commit_callbacks(execute=True):
        sign(action)
    assert [message.to for message in mail.outbox] == [["staff@ngo.example"]]
    assert mail.outbox[0].subject.startswith("[TEST] ")
    assert "ana.tremblay@parl.example" in str(mail.outbox[0].body)

    services.change_status(action=action, to=Action.Status.OPEN)
    assert not action.test_mode
    with django_capture_on_commit_callbacks(execute=True):
        sign(action, 1)
    assert mail.outbox[1].to == ["Ana Tremblay <ana.tremblay@parl.example>"]
    assert not mail.outbox[1].subject.startswith("[TEST]")
    # The test letter stays a test letter: it never reaches the target later.
    assert Letter.objects.filter(test_to="staff@ngo.example").count() == 1


def test_a_draft_not_in_test_mode_takes_no_signature(ridings):
    action = letter(status=Action.Status.DRAFT, test_mode=False)
    with pytest.raises(services.ActionNotOpen):
        sign(action)


def test_without_a_test_address_test_letters_go_to_the_actions_creator(ridings, django_user_model):
    creator = django_user_model.objects.create_user("mara", "mara@ngo.example", "x")
    action = letter(status=Action.Status.DRAFT, test_mode=True, created_by=creator)
    sign(action)
    assert Letter.objects.get().test_to == "mara@ngo.example"


def test_an_action_created_as_a_draft_starts_in_test_mode(ridings):
    action = services.create_action(
        kind=Action.Kind.LETTER,
        slug="draft-letter",
        title="Draft",
        letter_subject="S",
        letter_body="B",
        by_district=True,
        status=Action.Status.DRAFT,
    )
    assert action.test_mode
