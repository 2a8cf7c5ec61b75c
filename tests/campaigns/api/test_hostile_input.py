"""What an attacker and a fuzzer sent the API (issue 10): each is a clear 4xx, never a 500."""

from __future__ import annotations

import json

import pytest
from django.db import connection

from campaigns.models import Campaign
from campaigns.staff.roles import ADMIN
from subscribers.models import Subscriber
from tests.support.factories import campaign, mailing_list
from tests.support.personas import bearer, staff, token_for

pytestmark = pytest.mark.django_db

# json.dumps writes "\ud800" as the six-character escape, as an attacker's client would.
LONE_SURROGATE = "\ud800"


@pytest.fixture(autouse=True)
def _lists():  # type: ignore[no-untyped-def]
    mailing_list("peru")


def post(client, url, body, token):  # type: ignore[no-untyped-def]
    client.raise_request_exception = False
    return client.post(url, json.dumps(body), content_type="application/json", **bearer(token))


def subscriber_body(**change):  # type: ignore[no-untyped-def]
    return {"email": "ana@example.org", "lists": ["peru"], "consent_source": "petition, example.org", **change}


def campaign_body(**change):  # type: ignore[no-untyped-def]
    return {"kind": "bulletin", "subject": "Mining", "body_markdown": "Text", "lists": ["peru"], **change}


@pytest.mark.parametrize(
    "change",
    [
        {"lists": ["pe\x00ru"]},
        {"lists": [LONE_SURROGATE]},
        {"name": LONE_SURROGATE},
        {"consent_source": LONE_SURROGATE},
        {"consent_wording": "I agree\x00"},
        {"email": "ana\x00@example.org"},
    ],
)
def test_nul_and_lone_surrogates_in_a_subscriber_are_a_400_naming_the_field(client, admin_token, change):
    response = post(client, "/api/v1/subscribers", subscriber_body(**change), admin_token)
    assert response.status_code == 400
    assert next(iter(change)) in " ".join(response.json()["errors"])
    assert not Subscriber.objects.exists()


@pytest.mark.parametrize(
    "change",
    [
        {"subject": LONE_SURROGATE},
        {"body_markdown": f"Hello {LONE_SURROGATE}"},
        {"lists": [LONE_SURROGATE]},
        {"lists": ["pe\x00ru"]},
        {"translations": {"es": {"subject": "Minería", "body_markdown": "x\x00"}}},
    ],
)
def test_nul_and_lone_surrogates_in_a_campaign_are_a_400_naming_the_field(client, writer_token, change):
    response = post(client, "/api/v1/campaigns", campaign_body(**change), writer_token)
    assert response.status_code == 400
    assert next(iter(change)) in " ".join(response.json()["errors"])
    assert not Campaign.objects.exists()


def test_a_lone_surrogate_with_debug_on_is_still_a_400(client, writer_token, settings):
    settings.DEBUG = True
    response = post(client, "/api/v1/campaigns", campaign_body(subject=LONE_SURROGATE), writer_token)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize("slug", ["", " ", "peru\n", "a/b", "x" * 61])
def test_a_list_slug_that_cannot_exist_is_a_400(client, writer_token, slug):
    response = post(client, "/api/v1/campaigns", campaign_body(lists=[slug]), writer_token)
    assert response.status_code == 400
    assert "lists" in response.json()["errors"]


def test_an_unknown_field_is_refused_not_ignored(client, writer_token):
    response = post(client, "/api/v1/campaigns", campaign_body(subjet="typo"), writer_token)
    assert response.status_code == 400
    assert response.json()["errors"] == {"subjet": ["Unknown field."]}
    nested = campaign_body(translations={"es": {"subject": "Hola", "bodi": "x"}})
    response = post(client, "/api/v1/campaigns", nested, writer_token)
    assert response.json()["errors"] == {"translations.es.bodi": ["Unknown field."]}


# --- Far-future and far-past dates --------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("signed_up_before", "9999-12-31T23:00:00-11:00"),
        ("signed_up_after", "0001-01-01T00:00:00+14:00"),
        ("signed_up_after", "2100-01-01"),
        ("signed_up_before", "1899-12-31T23:59:59Z"),
    ],
)
def test_a_date_outside_the_sane_range_is_a_400(client, writer_token, field, value):
    response = post(client, "/api/v1/campaigns", campaign_body(**{field: value}), writer_token)
    assert response.status_code == 400
    assert response.json()["errors"][field] == ["Must be a date between 1900-01-01 and 2099-12-31."]
    assert not Campaign.objects.exists()


def test_a_send_time_in_year_9999_is_a_400(client):
    token = token_for(staff("root", ADMIN))
    draft = campaign()
    response = post(client, f"/api/v1/campaigns/{draft.pk}/send", {"at": "9999-12-31T23:00:00-11:00"}, token)
    assert response.status_code == 400
    assert "at" in response.json()["errors"]
    draft.refresh_from_db()
    assert draft.status == Campaign.Status.DRAFT


@pytest.mark.postgres
def test_a_row_already_holding_year_10000_does_not_break_the_api(client):
    token = token_for(staff("root", ADMIN))
    draft = campaign(lists=[mailing_list("honduras", people=2)])
    with connection.cursor() as cursor:
        # What the API stored before the range rule: Python cannot read year 10000.
        cursor.execute(
            "UPDATE campaigns_campaign SET signed_up_before = '10000-01-01 10:00:00+00' WHERE id = %s", [draft.pk]
        )
    read = client.get(f"/api/v1/campaigns/{draft.pk}", **bearer(token))
    assert read.status_code == 200
    assert read.json()["audience"]["signed_up_before"].startswith("9999-12-30")
    for step in ("submit", "approve", "send"):
        answer = post(client, f"/api/v1/campaigns/{draft.pk}/{step}", {}, token)
        assert answer.status_code in (202, 409), (step, answer.content)


# --- Every error under /api/v1/ is JSON ------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/campaigns/1%0A", "/api/v1/nothing/here", "/api/v1/campaigns/abc"])
def test_errors_under_the_api_answer_json(client, writer_token, path):
    response = client.get(path, **bearer(writer_token))
    assert response.status_code in (400, 404)
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"]


def test_a_404_under_the_api_is_json_even_with_debug_on(client, writer_token, settings):
    settings.DEBUG = True
    response = client.get("/api/v1/nothing", **bearer(writer_token))
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"


def test_a_server_error_under_the_api_is_json(client, writer_token, monkeypatch):
    from campaigns.api import views

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("database on fire")

    monkeypatch.setattr(views, "campaign_json", broken)
    client.raise_request_exception = False
    response = client.get(f"/api/v1/campaigns/{campaign().pk}", **bearer(writer_token))
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal Server Error"}


# --- Names and addresses ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Win money at evil.example/claim", "Ana\u202eanA", "An\u200ba"])
def test_a_link_or_a_disguise_in_a_name_is_refused(client, admin_token, name):
    response = post(client, "/api/v1/subscribers", subscriber_body(name=name), admin_token)
    assert response.status_code == 400
    assert "name" in response.json()["errors"]


@pytest.mark.parametrize("email", ["ana@[127.0.0.1]", "ana@10.0.0.12", "ana@[IPv6:::1]"])
def test_an_ip_literal_address_is_refused(client, admin_token, email):
    response = post(client, "/api/v1/subscribers", subscriber_body(email=email), admin_token)
    assert response.status_code == 400
    assert "email" in response.json()["errors"]
    assert not Subscriber.objects.exists()


def test_a_bad_request_refused_by_django_itself_is_json_with_errors(client, writer_token, settings):
    settings.ALLOWED_HOSTS = ["tocsin.example.org"]
    client.raise_request_exception = False
    response = client.get("/api/v1/lists", HTTP_HOST="evil.example", **bearer(writer_token))
    assert response.status_code == 400
    assert response.json() == {"detail": "Bad Request", "errors": {"request": ["Bad Request"]}}
