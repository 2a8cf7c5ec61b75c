"""An action's admin page: letters per target (sent, failed, pending, unknown), a retry for failed ones, test mode."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse

from actions import services
from actions.models import Action, ActionTranslation, Letter
from campaigns.models import AuditLog
from campaigns.staff.roles import WRITER
from tests.support.factories import letter, riding_map, target
from tests.support.personas import staff, verified

pytestmark = pytest.mark.django_db
L = Letter.Status


@pytest.fixture
def boss(client):  # type: ignore[no-untyped-def]
    user = staff("boss", None)
    user.is_superuser = True
    user.save()
    return verified(client, user)


@pytest.fixture
def action_with_letters(db):  # type: ignore[no-untyped-def]
    riding_map()
    action = letter(fixed=[target("Minister of Mines", "minister@gov.example", groups=())])
    for n in range(3):
        services.sign(action=action, email=f"p{n}@example.org", name=f"Person {n}", postal_code="K1A 0B1")
    minister = Letter.objects.filter(target__email="minister@gov.example").order_by("id")
    Letter.objects.filter(pk=minister[0].pk).update(status=L.SENT)
    Letter.objects.filter(pk=minister[1].pk).update(status=L.FAILED, error="SMTPDataError: 554")
    Letter.objects.filter(pk=minister[2].pk).update(status=L.UNKNOWN)
    Letter.objects.filter(target__email="ana.tremblay@parl.example").update(status=L.FAILED)
    return action


def change_page(client, action: Action) -> str:  # type: ignore[no-untyped-def]
    response = client.get(reverse("admin:actions_action_change", args=[action.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_action_page_counts_letters_per_target(boss, action_with_letters):
    rows = {row["email"]: row for row in services.letter_counts_by_target(action_with_letters)}
    assert {key: rows["minister@gov.example"][key] for key in ("sent", "failed", "pending", "unknown")} == {
        "sent": 1,
        "failed": 1,
        "pending": 0,
        "unknown": 1,
    }
    assert rows["ana.tremblay@parl.example"]["failed"] == 3
    html = change_page(boss, action_with_letters)
    assert "Minister of Mines" in html and "Ana Tremblay" in html
    assert 'name="retry_target"' in html and 'value="all"' in html
    assert "Retry all 4 failed letters" in html


def test_retrying_one_targets_failed_letters_sends_them_and_is_audited(
    boss, action_with_letters, django_capture_on_commit_callbacks
):
    minister = Letter.objects.filter(target__email="minister@gov.example").first()
    assert minister is not None
    url = reverse("admin:actions_action_retry_letters", args=[action_with_letters.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = boss.post(url, {"retry_target": str(minister.target_id), "title": "ignored"})
    assert response.status_code == 302
    statuses = Letter.objects.filter(target_id=minister.target_id).values_list("status", flat=True)
    assert sorted(statuses) == [L.SENT, L.SENT, L.UNKNOWN]  # the unknown one is never re-sent by itself
    assert Letter.objects.filter(target__email="ana.tremblay@parl.example", status=L.FAILED).count() == 3
    assert [message.to for message in mail.outbox] == [["Minister of Mines <minister@gov.example>"]]
    assert AuditLog.objects.filter(detail__startswith="retried 1 failed letter(s)").exists()


def test_retrying_all_failed_letters(boss, action_with_letters, django_capture_on_commit_callbacks):
    url = reverse("admin:actions_action_retry_letters", args=[action_with_letters.pk])
    with django_capture_on_commit_callbacks(execute=True):
        boss.post(url, {"retry_target": "all"})
    assert not Letter.objects.filter(status=L.FAILED).exists()
    assert len(mail.outbox) == 4


@pytest.mark.parametrize("value", ["abc", "-1", "1" * 40, "1\x00"])
def test_a_bad_target_is_a_400_and_changes_nothing(boss, action_with_letters, value):
    url = reverse("admin:actions_action_retry_letters", args=[action_with_letters.pk])
    response = boss.post(url, {"retry_target": value})
    assert response.status_code == 400
    assert Letter.objects.filter(status=L.FAILED).count() == 4


def test_retry_takes_only_a_post_from_someone_allowed(client, boss, action_with_letters):
    url = reverse("admin:actions_action_retry_letters", args=[action_with_letters.pk])
    assert boss.get(url).status_code == 405
    boss.logout()
    writer = verified(client, staff("writer9", WRITER))  # drafts actions, but may not send letters
    assert writer.post(url, {"retry_target": "all"}).status_code == 403
    assert Letter.objects.filter(status=L.FAILED).count() == 4


def test_the_page_says_when_the_action_is_in_test_mode(boss):
    riding_map()
    action = letter(status=Action.Status.DRAFT, test_mode=True, test_email="staff@ngo.example")
    html = change_page(boss, action)
    assert "Test mode: letters go to staff@ngo.example, not to the targets" in html


def test_a_new_action_starts_in_test_mode(boss):
    html = boss.get(reverse("admin:actions_action_add")).content.decode()
    assert re.search(r'<input type="checkbox" name="test_mode"[^>]*checked>', html)


def test_the_test_mode_notice_shows_only_while_the_action_is_in_test_mode(boss):
    riding_map()
    opened = letter(test_mode=False)
    assert "field-test_mode_notice" not in change_page(boss, opened)
    drafted = letter("drafted", status=Action.Status.DRAFT, test_mode=True)
    assert "field-test_mode_notice" in change_page(boss, drafted)


def test_the_links_to_deliver_by_hand_read_well_in_french(boss):
    riding_map()
    action = letter()
    html = boss.get(reverse("admin:actions_action_change", args=[action.pk]), HTTP_ACCEPT_LANGUAGE="fr").content
    assert "rebondit\u00a0:" in html.decode()


def test_the_translations_titles_are_as_wide_as_the_actions_own(boss):
    riding_map()
    action = letter()
    ActionTranslation.objects.create(action=action, language="es", title="Escriba a su diputado")
    html = change_page(boss, action)
    found = re.search(r"<input type=\"text\" name=\"translations-0-title\"[^>]*>", html)
    assert found is not None and 'size="80"' in found.group(0), found
