"""What staff deliver in person: the petition with its signatures, and letters for targets that take no email."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from actions import services
from campaigns.models import AuditLog
from tests.support.factories import letter, petition, riding_map, target
from tests.support.personas import staff, verified, writer

pytestmark = pytest.mark.django_db


@pytest.fixture
def boss(client):  # type: ignore[no-untyped-def]
    user = staff("boss", None)
    user.is_superuser = True
    user.save()
    return verified(client, user)


def rows(response) -> list[list[str]]:  # type: ignore[no-untyped-def]
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_the_petition_csv_has_names_and_postal_codes_but_no_email_addresses(boss):
    action = petition()
    services.sign(action=action, email="lucia@example.org", name="Lucía Quispe", postal_code="K1A 0B1", message="¡Ya!")
    services.sign(action=action, email="evil@example.org", name="Evil Person", message='=HYPERLINK("http://x")')

    response = boss.get(reverse("admin:actions_action_signatures_csv", args=[action.pk]))

    assert response.status_code == 200
    table = rows(response)
    assert table[0] == ["signed_on", "name", "postal_code", "district", "comment"]
    assert [row[1:3] for row in table[1:]] == [["Lucía Quispe", "K1A 0B1"], ["Evil Person", ""]]
    assert table[2][4].startswith("'=")  # a spreadsheet shows it as text, never runs it
    assert "example.org" not in response.content.decode()
    assert AuditLog.objects.filter(action="exported", detail="petition (CSV): action stop-the-mine").exists()


def test_the_printable_petition_lists_every_signature(boss):
    action = petition()
    services.sign(action=action, email="lucia@example.org", name="Lucía Quispe", postal_code="K1A 0B1")
    page = boss.get(reverse("admin:actions_action_print", args=[action.pk])).content.decode()
    assert "Lucía Quispe" in page and "1 signature as of" in page
    assert "lucia@example.org" not in page
    assert "<strong>community</strong>" in page  # the text, rendered from Markdown


def test_letters_for_targets_that_take_no_email_are_grouped_for_delivery_by_hand(boss):
    ridings = riding_map()
    embassy = target("Embassy of Ruritania", "embassy@rur.example", groups=("embassies",), do_not_email=True)
    action = letter(fixed=[embassy])
    services.sign(action=action, email="lucia@example.org", name="Lucía Quispe", postal_code="K1A 0B1", message="Hi")

    page = boss.get(reverse("admin:actions_action_by_hand", args=[action.pk])).content.decode()
    assert "Embassy of Ruritania" in page and "Lucía Quispe" in page and action.letter_body in page
    assert ridings["mp_north"].name not in page  # emailed, not by hand
    table = rows(boss.get(reverse("admin:actions_action_by_hand_csv", args=[action.pk])))
    assert [row[0] for row in table[1:]] == ["Embassy of Ruritania"]
    assert table[1][7] == "Hi"


def test_staff_who_cannot_see_signatures_cannot_export_them(client):
    action = petition()
    verified(client, writer())
    assert client.get(reverse("admin:actions_action_signatures_csv", args=[action.pk])).status_code == 403
    assert not AuditLog.objects.exists()


def test_letters_delivered_by_hand_carry_the_supporters_city(boss):
    riding_map()
    embassy = target("Embassy of Ruritania", "embassy@rur.example", groups=("embassies",), do_not_email=True)
    action = letter(fixed=[embassy])
    services.sign(action=action, email="lucia@example.org", name="Lucía Quispe", postal_code="K1A 0B1", city="Vanier")

    page = boss.get(reverse("admin:actions_action_by_hand", args=[action.pk])).content.decode()
    assert "Lucía Quispe, K1A 0B1, Vanier" in page
    table = rows(boss.get(reverse("admin:actions_action_by_hand_csv", args=[action.pk])))
    assert table[0][-1] == "city" and table[1][-1] == "Vanier"
