"""/api/v1/webhooks: register, list, read, remove; permissions; refused events and URLs are 422."""

from __future__ import annotations

import json

import pytest

from campaigns.staff.roles import ADMIN, SENDER
from integrations import recording
from integrations.events import EVENTS
from integrations.models import Endpoint
from tests.support.personas import bearer, staff, token_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def token(db) -> str:  # type: ignore[no-untyped-def]
    return token_for(staff("ada", ADMIN))


def post(client, body, token):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/webhooks", json.dumps(body), content_type="application/json", **bearer(token))


def test_registering_answers_201_with_the_id_and_the_secret(client, token):
    response = post(client, {"url": "https://93.184.215.14/hooks", "events": ["subscriber.confirmed"]}, token)

    assert response.status_code == 201
    body = response.json()
    endpoint = Endpoint.objects.get(pk=body["id"])
    assert body["secret"].startswith("whsec_") and body["secret"] == endpoint.secret
    assert endpoint.events == ["subscriber.confirmed"] and endpoint.created_by.username == "ada"


def test_unknown_events_are_422_with_the_valid_list(client, token):
    response = post(client, {"url": "https://93.184.215.14/hooks", "events": ["person.born"]}, token)

    assert response.status_code == 422
    body = response.json()
    assert "person.born" in body["errors"]["events"][0]
    assert body["valid_events"] == list(EVENTS)
    assert not Endpoint.objects.exists()


def test_a_private_url_is_422(client, token, settings):
    settings.TOCSIN_WEBHOOK_ALLOW_PRIVATE = False
    response = post(client, {"url": "https://169.254.169.254/latest", "events": ["campaign.sent"]}, token)

    assert response.status_code == 422
    assert "url" in response.json()["errors"]
    assert not Endpoint.objects.exists()


def test_a_malformed_body_is_400(client, token):
    response = post(client, {"url": "https://93.184.215.14/hooks", "events": "campaign.sent", "x": 1}, token)
    assert response.status_code == 400
    assert set(response.json()["errors"]) >= {"events", "x"}


def test_list_detail_with_recent_deliveries_and_delete(client, token):
    created = post(client, {"url": "https://93.184.215.14/a", "events": ["campaign.sent"]}, token).json()
    endpoint = Endpoint.objects.get(pk=created["id"])
    recording.record("campaign.sent", {"id": 7}, endpoints=[endpoint])

    listed = client.get("/api/v1/webhooks", **bearer(token)).json()
    assert [item["id"] for item in listed] == [endpoint.pk]
    assert "secret" not in listed[0]

    detail = client.get(f"/api/v1/webhooks/{endpoint.pk}", **bearer(token)).json()
    [delivery] = detail["deliveries"]
    assert delivery["type"] == "campaign.sent" and delivery["status"] == "pending" and delivery["attempts"] == 0
    assert delivery["webhook_id"].startswith("msg_")

    assert client.delete(f"/api/v1/webhooks/{endpoint.pk}", **bearer(token)).status_code == 204
    assert client.get(f"/api/v1/webhooks/{endpoint.pk}", **bearer(token)).status_code == 404
    assert client.delete(f"/api/v1/webhooks/{endpoint.pk}", **bearer(token)).status_code == 404
    assert client.get("/api/v1/webhooks/abc", **bearer(token)).status_code in (400, 404)


def test_no_token_is_401_and_a_sender_is_403(client):
    body = {"url": "https://93.184.215.14/hooks", "events": ["campaign.sent"]}
    assert client.get("/api/v1/webhooks").status_code == 401
    sender = token_for(staff("sam", SENDER))
    assert post(client, body, sender).status_code == 403
    assert client.get("/api/v1/webhooks", **bearer(sender)).status_code == 403
    assert not Endpoint.objects.exists()


def test_the_openapi_document_lists_the_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {"/webhooks", "/webhooks/{id}"} <= set(paths)
    assert "422" in paths["/webhooks"]["post"]["responses"]
    assert {"get", "patch", "delete"} <= set(paths["/webhooks/{id}"])
    assert "secret" not in json.dumps(paths["/webhooks/{id}"]["patch"]["responses"]["200"])
