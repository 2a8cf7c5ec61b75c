"""/api/v1/actions takes and reads back how a letter is edited and reaches its targets; bad values are 400s."""

from __future__ import annotations

import json

import pytest

from actions.models import Action
from tests.support.factories import group
from tests.support.personas import admin, bearer, token_for

pytestmark = pytest.mark.django_db

LETTER = {
    "kind": "letter",
    "slug": "binding-rules",
    "title": "Binding rules for mining companies",
    "body_markdown": "Write to your MP.",
    "letter": {"subject": "Binding rules now", "body": "Dear MP, …"},
    "targets": {"group": "mps", "by_district": True},
}


@pytest.fixture
def token():  # type: ignore[no-untyped-def]
    group("mps")
    return token_for(admin())


def post(client, body, token):  # type: ignore[no-untyped-def]
    payload = body if isinstance(body, str) else json.dumps(body)
    return client.post("/api/v1/actions", payload, content_type="application/json", **bearer(token))


def test_a_letters_delivery_settings_are_stored_and_read_back(client, token):
    body = {
        **LETTER,
        "status": "draft",
        "letter": {**LETTER["letter"], "edit_policy": "paragraph", "edit_limit": 800},
        "delivery": {
            "mode": "digest",
            "digest_hour": 8,
            "daily_cap": 25,
            "test_mode": True,
            "test_email": "staff@example.org",
        },
    }
    response = post(client, body, token)

    assert response.status_code == 201, response.json()
    action = Action.objects.get()
    assert (action.delivery_mode, action.digest_hour, action.daily_cap) == ("digest", 8, 25)
    assert (action.test_mode, action.test_email, action.edit_limit) == (True, "staff@example.org", 800)
    detail = client.get("/api/v1/actions/binding-rules", **bearer(token)).json()
    assert detail["letter"] == {
        "subject": "Binding rules now",
        "body": "Dear MP, …",
        "edit_policy": "paragraph",
        "edit_limit": 800,
    }
    assert detail["delivery"] == {
        "mode": "digest",
        "digest_hour": 8,
        "daily_cap": 25,
        "test_mode": True,
        "test_email": "staff@example.org",
    }
    assert client.get("/api/v1/actions", **bearer(token)).json()[0]["delivery"] == detail["delivery"]


def test_without_delivery_settings_a_letter_goes_each_as_it_comes_and_an_open_one_is_not_in_test_mode(client, token):
    assert post(client, LETTER, token).status_code == 201
    detail = client.get("/api/v1/actions/binding-rules", **bearer(token)).json()
    assert detail["delivery"] == {
        "mode": "each",
        "digest_hour": 17,
        "daily_cap": None,
        "test_mode": False,
        "test_email": "",
    }
    assert detail["letter"]["edit_policy"] == "paragraph"


def test_a_petition_has_no_letter_and_no_delivery(client, token):
    body = {"kind": "petition", "slug": "free-them", "title": "Free them", "body_markdown": "Now."}
    assert post(client, body, token).status_code == 201
    detail = client.get("/api/v1/actions/free-them", **bearer(token)).json()
    assert (detail["letter"], detail["delivery"]) == (None, None)
    refused = post(client, {**body, "slug": "other", "delivery": {"mode": "digest"}}, token)
    assert refused.status_code == 400 and "kind" in refused.json()["errors"]


@pytest.mark.parametrize(
    ("delivery", "field"),
    [
        ({"mode": "weekly"}, "delivery.mode"),
        ({"mode": "each\x00"}, "delivery.mode"),
        ({"daily_cap": -1}, "delivery.daily_cap"),
        ({"daily_cap": 0}, "delivery.daily_cap"),
        ({"daily_cap": "10"}, "delivery.daily_cap"),
        ({"daily_cap": 10**30}, "delivery.daily_cap"),
        ({"digest_hour": 24}, "delivery.digest_hour"),
        ({"test_mode": "yes"}, "delivery.test_mode"),
        ({"test_email": "not an address"}, "delivery.test_email"),
        ({"test_email": "a@example.org\r\nBcc: b@example.org"}, "delivery.test_email"),
        ({"test_email": "\ud800@example.org"}, "delivery.test_email"),
        ({"test_email": "a" * 1_000_000}, "delivery.test_email"),
        ({"hourly_cap": 3}, "delivery.hourly_cap"),
    ],
)
def test_bad_delivery_settings_are_a_400_naming_the_field(client, token, delivery, field):
    response = post(client, {**LETTER, "delivery": delivery}, token)
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"], response.json()
    assert not Action.objects.exists()


@pytest.mark.parametrize(
    ("letter", "field"),
    [
        ({"edit_policy": "whole"}, "letter.edit_policy"),
        ({"edit_limit": -5}, "letter.edit_limit"),
        ({"edit_limit": 0}, "letter.edit_limit"),
        ({"edit_limit": 1.5}, "letter.edit_limit"),
        ({"subject": "x" * 1_000_000}, "letter.subject"),
        ({"body": "nul \x00"}, "letter.body"),
    ],
)
def test_bad_letter_settings_are_a_400_naming_the_field(client, token, letter, field):
    response = post(client, {**LETTER, "letter": {**LETTER["letter"], **letter}}, token)
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"], response.json()
    assert not Action.objects.exists()


def test_the_openapi_document_describes_the_delivery_settings(client):
    document = client.get("/api/v1/openapi.json").json()
    schemas = document["components"]["schemas"]
    assert {"mode", "digest_hour", "daily_cap", "test_mode", "test_email"} <= set(
        schemas["DeliveryInput"]["properties"]
    )
    assert {"letter", "delivery"} <= set(schemas["ActionOut"]["properties"])
