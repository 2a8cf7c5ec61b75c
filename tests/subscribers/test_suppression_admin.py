"""Suppressed addresses in the admin: read-only evidence, found by the address itself (only its hash is kept)."""

from __future__ import annotations

import pytest

from subscribers.models import Suppression
from subscribers.services import suppress
from tests.support.personas import admin, verified, writer

pytestmark = pytest.mark.django_db

LIST = "/admin/subscribers/suppression/"


def rows(page: str) -> str:
    """The result table's rows (the filters beside it name every reason)."""
    return page.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in page else ""


@pytest.fixture
def suppressed():  # type: ignore[no-untyped-def]
    suppress(email="Gone@Example.org", reason=Suppression.Reason.BOUNCED, origin="cleaned_members.csv, line 3")
    suppress(email="other@example.org", reason=Suppression.Reason.COMPLAINED)


def test_staff_find_out_why_an_address_is_not_mailed_by_typing_it(client, suppressed):
    verified(client, admin())

    page = client.get(LIST, {"q": "  gone@example.ORG "}).content.decode()

    assert "Hard bounce" in rows(page) and "cleaned_members.csv, line 3" in rows(page)
    assert "Spam complaint" not in rows(page)  # the other address is not listed
    assert "1 suppressed address" in page


def test_an_address_that_is_not_suppressed_finds_nothing_and_a_fragment_finds_nothing(client, suppressed):
    verified(client, admin())
    for query in ("someone@example.org", "gone", "example.org"):
        found = rows(client.get(LIST, {"q": query}).content.decode())
        assert "Hard bounce" not in found and "Spam complaint" not in found, query


def test_the_list_shows_every_suppression_with_its_reason_and_filters_by_reason(client, suppressed):
    verified(client, admin())
    assert rows(client.get(LIST).content.decode()).count('class="field-reason') == 2
    only = rows(client.get(LIST, {"reason__exact": "complained"}).content.decode())
    assert "Spam complaint" in only and "cleaned_members.csv" not in only


def test_nobody_adds_changes_or_deletes_a_suppression_by_hand(client, suppressed):
    verified(client, admin())
    pk = Suppression.objects.get(reason="bounced").pk
    assert client.get(f"{LIST}add/").status_code == 403
    assert client.post(f"{LIST}{pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.post(f"{LIST}{pk}/change/", {"reason": "staff"}).status_code == 403
    assert Suppression.objects.filter(pk=pk, reason="bounced").exists()
    assert client.get(f"{LIST}{pk}/change/").status_code == 200  # read-only view


def test_a_writer_does_not_see_suppressions(client, suppressed):
    verified(client, writer())
    assert client.get(LIST).status_code == 403


def test_a_hostile_search_is_answered_cleanly(client, suppressed):
    verified(client, admin())
    assert client.get(LIST, {"q": "x" * 1_000_000}).status_code == 200
    assert client.get(LIST, {"q": "a\x00b@example.org"}).status_code == 400
