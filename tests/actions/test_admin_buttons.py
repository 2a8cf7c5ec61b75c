"""Each persona sees in the actions' admin only the buttons and links it may use: none of them answers 403."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.urls import reverse

from actions import services
from actions.models import Letter
from tests.support.factories import letter, petition, riding_map, target
from tests.support.personas import admin, sender, verified, writer

pytestmark = pytest.mark.django_db

LINK = re.compile(r'<a\b[^>]*\bhref="(/admin/actions/[^"#]*)"')
BUTTON = re.compile(r'<button\b[^>]*\bformaction="([^"]+)"[^>]*>')
VALUE = re.compile(r'\bvalue="([^"]*)"')


@pytest.fixture
def actions_to_look_at():  # type: ignore[no-untyped-def]
    riding_map()
    embassy = target("Embassy of Ruritania", "embassy@rur.example", groups=("embassies",), do_not_email=True)
    mps = letter(fixed=[embassy])
    services.sign(action=mps, email="lucia@example.org", name="Lucía Quispe", postal_code="K1A 0B1")
    Letter.objects.filter(target__do_not_email=False).update(status=Letter.Status.FAILED, error="550 no")
    mine = petition()
    services.sign(action=mine, email="bea@example.org", name="Bea Roy", postal_code="K1A 0B1")
    return [mps, mine]


def pages(actions) -> list[str]:  # type: ignore[no-untyped-def]
    urls = [reverse("admin:actions_action_changelist"), reverse("admin:actions_target_changelist")]
    for action in actions:
        urls += [
            reverse("admin:actions_action_change", args=[action.pk]),
            reverse("admin:actions_action_report", args=[action.pk]),
        ]
    return urls


@pytest.mark.parametrize("persona", [writer, sender, admin])
def test_no_button_or_link_in_the_actions_admin_answers_403(client, actions_to_look_at, persona):
    verified(client, persona())
    refused = []
    for page in pages(actions_to_look_at):
        response = client.get(page)
        assert response.status_code == 200, page
        html = response.content.decode()
        for href in sorted(set(LINK.findall(html))):
            if client.get(unescape(href)).status_code == 403:
                refused.append(f"{page}: link {href}")
        for button in BUTTON.finditer(html):
            url = unescape(button.group(1))
            value = VALUE.search(button.group(0))
            data = {"retry_target": value.group(1)} if value else {}
            if client.post(url, data).status_code == 403:
                refused.append(f"{page}: button {url} {data}")
    assert refused == []


def test_a_writer_sees_the_letters_per_target_but_no_retry_button(client, actions_to_look_at):
    verified(client, writer())
    page = client.get(reverse("admin:actions_action_change", args=[actions_to_look_at[0].pk])).content.decode()
    assert "Ana Tremblay" in page  # the counts per target are there
    assert "Retry" not in page


def test_a_sender_can_retry_failed_letters_from_the_action_page(client, actions_to_look_at):
    verified(client, sender())
    page = client.get(reverse("admin:actions_action_change", args=[actions_to_look_at[0].pk])).content.decode()
    assert "Retry failed" in page
