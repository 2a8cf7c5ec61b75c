"""The action pages under the site's Content-Security-Policy: nothing on them is blocked."""

from __future__ import annotations

import pytest

from actions import services
from tests.support.csp import blocked_on, digest
from tests.support.factories import letter, petition, riding_map
from tests.support.personas import staff, verified

pytestmark = pytest.mark.django_db


def test_every_public_action_page_runs_within_the_strict_policy(client, settings):
    riding_map()
    letter()
    petition()
    fields = {"name": "Lucía Quispe", "email": "lucia@example.org", "postal_code": "K1A 0B1"}
    thanks = client.post("/act/stop-the-mine/", fields)["Location"]
    responses = {
        "petition": client.get("/act/stop-the-mine/"),
        "letter": client.get("/act/write-your-mp/"),
        "district step": client.post("/act/write-your-mp/", {**fields, "postal_code": "K2B 1A1"}),
        "form error": client.post("/act/stop-the-mine/", {**fields, "postal_code": "nope"}),
        "thanks": client.get(thanks),
        "already signed": client.post("/act/stop-the-mine/", fields),
    }
    for name, response in responses.items():
        policy, blocked = blocked_on(response)
        assert blocked == [], name
        assert policy["script-src"] == ["'self'"] and "'unsafe-inline'" not in policy["style-src"], name


def test_the_embed_page_allows_exactly_the_snippets_own_inline_style(client):
    petition()
    policy, blocked = blocked_on(client.get("/act/stop-the-mine/embed/"))
    assert blocked == []
    assert policy["style-src"] == ["'self'", "'unsafe-hashes'", digest("position:absolute;left:-10000px")]


def test_the_printable_pages_for_staff_keep_their_print_styles(client):
    action = petition()
    services.sign(action=action, email="lucia@example.org", name="Lucía Quispe")
    user = staff("boss", None)
    user.is_superuser = True
    user.save()
    verified(client, user)
    policy, blocked = blocked_on(client.get(f"/admin/actions/action/{action.pk}/print/"))
    assert blocked == []
    assert policy["script-src"] == ["'self'"]
