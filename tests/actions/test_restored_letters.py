"""After a database restore, letters the backup called "pending" are held until staff retry them.

manage.py restored_from_backup marks them failed with the reason (the
action's page has a "retry" for failed letters, per target or all), and the
letter caught mid-send unknown; beat's sweeper then sends nothing.
"""

from __future__ import annotations

from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from actions import services
from actions.models import Action, Letter
from actions.tasks import retry_failed, sweep_letters
from campaigns.models import AuditLog
from tests.support.factories import letter, riding_map, target
from tests.support.personas import staff, verified

pytestmark = pytest.mark.django_db
L = Letter.Status


def restored(*args: str) -> str:
    out = StringIO()
    call_command("restored_from_backup", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def letters_in_progress(db):  # type: ignore[no-untyped-def]
    """Four letters to the minister as the backup has them: one sent, one in flight, two pending."""
    riding_map()
    action = letter(
        fixed=[target("Minister of Mines", "minister@gov.example", groups=())], by_district=False, target_group=None
    )
    for n in range(4):
        services.sign(action=action, email=f"p{n}@example.org", name=f"Person {n}", postal_code="K1A 0B1")
    rows = list(Letter.objects.order_by("id"))
    Letter.objects.filter(pk=rows[0].pk).update(status=L.SENT)
    Letter.objects.filter(pk=rows[1].pk).update(status=L.SENDING)
    return action


def statuses() -> list[str]:
    return list(Letter.objects.order_by("id").values_list("status", flat=True))


def test_pending_letters_are_held_and_the_one_in_flight_becomes_unknown(letters_in_progress):
    output = restored()
    assert statuses() == [L.SENT, L.UNKNOWN, L.FAILED, L.FAILED]
    held = Letter.objects.filter(status=L.FAILED).first()
    assert held is not None and "restored from a backup" in held.error
    assert letters_in_progress.slug in output
    assert "Retry" in output


def test_beat_sends_none_of_them_until_staff_retry(letters_in_progress, django_capture_on_commit_callbacks):
    restored()
    with django_capture_on_commit_callbacks(execute=True):
        sweep_letters()
    assert mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        assert retry_failed(action=letters_in_progress) == 2
    assert len(mail.outbox) == 2
    assert statuses() == [L.SENT, L.UNKNOWN, L.SENT, L.SENT]


def test_a_second_run_and_a_dry_run_change_nothing(letters_in_progress):
    before = statuses()
    assert "dry run" in restored("--dry-run").lower()
    assert statuses() == before
    restored()
    after = statuses()
    entries = AuditLog.objects.count()
    assert "nothing to do" in restored().lower()
    assert statuses() == after and AuditLog.objects.count() == entries


def test_the_audit_entry_counts_the_held_letters(letters_in_progress):
    restored()
    entry = AuditLog.objects.get(action="restored-from-backup")
    assert "2 letter(s) held" in entry.detail and "1 letter(s) in flight" in entry.detail


def test_the_action_page_says_why_its_letters_were_held(letters_in_progress, client):
    restored()
    user = staff("boss", None)
    user.is_superuser = True
    user.save()
    verified(client, user)
    page = client.get(reverse("admin:actions_action_change", args=[letters_in_progress.pk])).content.decode()
    assert "restored from a backup" in page.lower()
    assert "Retry all 2 failed letters" in page


def test_an_action_without_letters_waiting_has_nothing_to_do(db):  # type: ignore[no-untyped-def]
    Action.objects.create(kind=Action.Kind.PETITION, slug="stop-the-mine", title="Stop the mine")
    assert "nothing to do" in restored().lower()
