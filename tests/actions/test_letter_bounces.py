"""A letter (or digest) to a target that bounces: the letter fails, the target is flagged, the supporter is left alone.

Each returned message goes through campaigns' ``ingest`` (what ``manage.py
ingest_bounce`` runs), addressed to the letter's VERP address as a mail
server would return it; a real worker and SMTP server do the same in
tests/e2e/test_letter_bounces_e2e.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from actions import services
from actions.bounces import DIGEST, LETTER
from actions.models import Action, Letter, LetterDigest, Target
from actions.sending import letters
from actions.tasks import sweep_letters
from campaigns.events.bounces import verp
from campaigns.events.bounces.ingest import ingest
from campaigns.models import AuditLog, DeliveryEvent
from subscribers.models import Subscriber
from subscribers.services.leaving import is_suppressed
from tests.support import bounce_samples
from tests.support.factories import letter, make_list, make_subscriber, riding_map
from tests.support.personas import staff, verified

pytestmark = pytest.mark.django_db
L = Letter.Status
MP = "ana.tremblay@parl.example"


def bounce_address(row_id: int, kind: str = LETTER) -> str:
    return verp.envelope_sender(delivery_id=row_id, envelope_from="bulletin@tocsin.example.org", kind=kind)


def returned(sample: str, row_id: int, *, kind: str = LETTER, n: int = 1) -> bytes:
    return bounce_samples.render(sample, verp=bounce_address(row_id, kind), rcpt=MP, n=n)


def sign(action: Action, n: int = 0):  # type: ignore[no-untyped-def]
    return services.sign(action=action, email=f"person{n}@example.org", name=f"Person {n}", postal_code="K1A 0B1")


@pytest.fixture
def sent_letter(django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    riding_map()
    action = letter()
    make_subscriber("person0@example.org", lists=[make_list()])
    with django_capture_on_commit_callbacks(execute=True):
        sign(action)
    sent = Letter.objects.get()
    assert sent.status == L.SENT
    return sent


@pytest.mark.parametrize("sample", ["postfix_hard", "gmail_hard", "microsoft_hard", "arf_complaint"])
def test_a_hard_bounce_fails_the_letter_and_flags_the_target(sent_letter, sample):
    outcome = ingest(returned(sample, sent_letter.pk))

    assert outcome.result == "recorded", outcome
    sent_letter.refresh_from_db()
    assert sent_letter.status == L.FAILED
    assert sent_letter.error  # the reason the server gave, for staff
    target = Target.objects.get(email=MP)
    assert target.bouncing_since is not None
    assert target.bounce_reason


def test_the_supporter_stays_subscribed_when_their_letter_bounces(sent_letter):
    ingest(returned("postfix_hard", sent_letter.pk))

    supporter = Subscriber.objects.get(email="person0@example.org")
    assert supporter.status == Subscriber.Status.CONFIRMED
    assert not is_suppressed("person0@example.org")
    assert not is_suppressed(MP)  # nor is the target made a suppressed subscriber address
    assert not DeliveryEvent.objects.exists()  # nothing recorded against any campaign


def test_the_reason_is_what_the_receiving_server_said(sent_letter):
    ingest(returned("postfix_hard", sent_letter.pk))
    sent_letter.refresh_from_db()
    assert "User unknown" in sent_letter.error
    assert "User unknown" in Target.objects.get(email=MP).bounce_reason


def test_a_soft_bounce_only_counts(sent_letter):
    outcome = ingest(returned("microsoft_expired", sent_letter.pk))

    assert outcome.result == "recorded", outcome
    sent_letter.refresh_from_db()
    assert sent_letter.status == L.SENT
    target = Target.objects.get(email=MP)
    assert (target.bouncing_since, target.soft_bounces) == (None, 1)


def test_the_same_bounce_read_twice_counts_once(sent_letter):
    assert ingest(returned("microsoft_expired", sent_letter.pk)).result == "recorded"
    assert ingest(returned("microsoft_expired", sent_letter.pk)).result == "duplicate"
    assert Target.objects.get(email=MP).soft_bounces == 1


def test_a_forged_or_campaign_token_changes_nothing(sent_letter):
    forged = bounce_address(sent_letter.pk).replace(verp.token_for(sent_letter.pk, kind=LETTER)[-4:], "aaaa")
    as_campaign = verp.envelope_sender(delivery_id=sent_letter.pk, envelope_from="bulletin@tocsin.example.org")
    for address in (forged, as_campaign):
        outcome = ingest(bounce_samples.render("postfix_hard", verp=address, rcpt=MP))
        assert outcome.result == "ignored", outcome
    sent_letter.refresh_from_db()
    assert sent_letter.status == L.SENT
    assert Target.objects.get(email=MP).bouncing_since is None


def test_later_letters_to_a_bouncing_target_are_kept_for_delivery_by_hand(
    sent_letter, django_capture_on_commit_callbacks
):
    ingest(returned("postfix_hard", sent_letter.pk))
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        sign(sent_letter.action, 1)

    later = Letter.objects.get(signature__email="person1@example.org")
    assert later.status == L.BY_HAND
    assert mail.outbox == []


def test_a_letter_already_waiting_when_the_target_bounces_goes_by_hand_too(sent_letter):
    waiting = sign(sent_letter.action, 1)  # no commit callbacks: written pending, not sent yet
    later = Letter.objects.get(signature__email="person1@example.org")
    assert later.status == L.PENDING and waiting

    ingest(returned("postfix_hard", sent_letter.pk))
    letters.deliver([later.pk])

    later.refresh_from_db()
    assert later.status == L.BY_HAND
    assert "bounced" in later.error


def test_a_bounced_test_letter_does_not_flag_the_target(django_capture_on_commit_callbacks):
    riding_map()
    action = letter(status=Action.Status.DRAFT, test_mode=True, test_email="staff@ngo.example")
    with django_capture_on_commit_callbacks(execute=True):
        sign(action)
    test_letter = Letter.objects.get()

    assert ingest(returned("postfix_hard", test_letter.pk)).result == "recorded"

    test_letter.refresh_from_db()
    assert test_letter.status == L.FAILED
    assert Target.objects.get(email=MP).bouncing_since is None


def test_a_bounced_digest_fails_its_letters_and_flags_the_target():
    riding_map()
    action = letter(delivery_mode=Action.DeliveryMode.DIGEST, digest_hour=0)
    for n in range(3):
        sign(action, n)
    Letter.objects.update(created_at=timezone.now() - timedelta(days=1))
    sweep_letters()  # builds and (eagerly) sends today's digest
    digest = LetterDigest.objects.get()
    assert digest.status == L.SENT

    outcome = ingest(returned("postfix_hard", digest.pk, kind=DIGEST))

    assert outcome.result == "recorded", outcome
    digest.refresh_from_db()
    assert digest.status == L.FAILED
    assert set(Letter.objects.values_list("status", flat=True)) == {L.FAILED}
    assert Target.objects.get(email=MP).bouncing_since is not None


def test_a_digests_waiting_letters_for_a_bouncing_target_go_by_hand():
    riding_map()
    action = letter(delivery_mode=Action.DeliveryMode.DIGEST, digest_hour=0)
    sign(action)
    Letter.objects.update(created_at=timezone.now() - timedelta(days=1))
    Target.objects.filter(email=MP).update(bouncing_since=timezone.now(), bounce_reason="550 user unknown")
    mail.outbox.clear()

    sweep_letters()

    assert Letter.objects.get().status == L.BY_HAND
    assert mail.outbox == []


# --- what staff see and do ------------------------------------------------------------------


@pytest.fixture
def boss(client):  # type: ignore[no-untyped-def]
    user = staff("boss", None)
    user.is_superuser = True
    user.save()
    return verified(client, user)


def with_returned_letters(target: Target, fields: dict[str, object]) -> dict[str, object]:
    """The change form's POST: ``fields`` and the (read-only) returned-letters inline's management data."""
    ids = list(target.bounces.order_by("-received_at", "-id").values_list("id", flat=True))
    data: dict[str, object] = {**fields, "bounces-TOTAL_FORMS": len(ids), "bounces-INITIAL_FORMS": len(ids)}
    data.update({"bounces-MIN_NUM_FORMS": 0, "bounces-MAX_NUM_FORMS": 1000})
    for n, pk in enumerate(ids):
        data.update({f"bounces-{n}-id": pk, f"bounces-{n}-target": target.pk})
    return data


def test_staff_see_a_bouncing_target_in_the_target_list_and_can_filter_by_it(boss, sent_letter):
    ingest(returned("postfix_hard", sent_letter.pk))

    page = boss.get(reverse("admin:actions_target_changelist")).content.decode()
    assert "Address bounces" in page
    only = boss.get(reverse("admin:actions_target_changelist") + "?bouncing=yes").content.decode()
    assert MP in only and "ben.okafor@parl.example" not in only


def test_the_target_page_says_why_and_staff_can_clear_the_flag_audited(boss, sent_letter):
    ingest(returned("postfix_hard", sent_letter.pk))
    target = Target.objects.get(email=MP)
    url = reverse("admin:actions_target_change", args=[target.pk])

    page = boss.get(url).content.decode()
    assert "User unknown" in page
    assert "delivery by hand" in page

    response = boss.post(
        url,
        with_returned_letters(
            target,
            {
                "name": target.name,
                "title": target.title,
                "email": target.email,
                "district": target.district_id,
                "province": target.province,
                "party": "",
                "language": "",
                "active": "on",
                "clear_bounce": "on",
            },
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    target.refresh_from_db()
    assert (target.bouncing_since, target.bounce_reason) == (None, "")
    assert AuditLog.objects.filter(detail__contains=MP, action="edited").exists()


def test_the_admin_action_clears_the_flag_of_chosen_targets_audited(boss, sent_letter):
    ingest(returned("postfix_hard", sent_letter.pk))
    target = Target.objects.get(email=MP)

    response = boss.post(
        reverse("admin:actions_target_changelist"),
        {"action": "clear_bounce_flag", "_selected_action": [target.pk]},
    )

    assert response.status_code == 302
    assert Target.objects.get(pk=target.pk).bouncing_since is None
    assert AuditLog.objects.filter(detail__contains=MP).exists()


def test_the_action_report_shows_failed_letters_per_target_with_the_reason(boss, sent_letter):
    ingest(returned("postfix_hard", sent_letter.pk))

    page = boss.get(reverse("admin:actions_action_report", args=[sent_letter.action_id])).content.decode()
    assert "User unknown" in page
    assert "Address bounces" in page


def test_the_report_csv_names_the_bounce_of_a_bouncing_target(boss, sent_letter):
    ingest(returned("postfix_hard", sent_letter.pk))

    text = boss.get(reverse("admin:actions_action_report_csv", args=[sent_letter.action_id])).content.decode()

    [mp_row] = [row for row in text.splitlines() if row.startswith("target,") and MP in row]
    assert "User unknown" in mp_row


def test_correcting_the_address_of_a_bouncing_target_clears_the_flag_audited(boss, sent_letter):
    ingest(returned("postfix_hard", sent_letter.pk))
    target = Target.objects.get(email=MP)

    response = boss.post(
        reverse("admin:actions_target_change", args=[target.pk]),
        with_returned_letters(
            target, {"name": target.name, "title": "MP", "email": "ana.tremblay@parl.example.ca", "active": "on"}
        ),
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    target.refresh_from_db()
    assert target.bouncing_since is None and target.email == "ana.tremblay@parl.example.ca"
    assert AuditLog.objects.filter(detail__contains="address corrected").exists()


def test_the_target_page_lists_its_returned_letters_soft_ones_included(boss, sent_letter):
    ingest(returned("microsoft_expired", sent_letter.pk))
    target = Target.objects.get(email=MP)

    page = boss.get(reverse("admin:actions_target_change", args=[target.pk])).content.decode()

    assert "Message expired, mailbox full" in page
    assert "Soft bounce" in page
