"""Every staff change to a webhook endpoint is in the audit log: who, which endpoint (its host), what changed.

Created, changed (URL, events, description, enabled), deleted, secret rotated: in the admin and through
/api/v1/webhooks. The secret and the URL's path and query (where a receiver may keep a token) never reach
the log; asking for what is already the case writes nothing.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from campaigns.models import AuditLog
from campaigns.staff.roles import ADMIN
from integrations import health
from integrations.models import Endpoint
from tests.support.factories.integrations import make_endpoint
from tests.support.personas import api_patch, api_post, bearer, staff, token_for, verified

pytestmark = pytest.mark.django_db

ADD = reverse("admin:integrations_endpoint_add")
ENDPOINTS = reverse("admin:integrations_endpoint_changelist")
HOOK = "https://93.184.215.14/hooks/catch/123/tok3n?key=s3cret"
OTHER = "https://93.184.215.15/other/path"


def change_url(endpoint: Endpoint) -> str:
    return reverse("admin:integrations_endpoint_change", args=[endpoint.pk])


def entries(action: str) -> list[AuditLog]:
    return list(AuditLog.objects.filter(action=action).select_related("actor").order_by("id"))


def assert_discreet(entry: AuditLog, endpoint: Endpoint) -> None:
    """The entry names the endpoint by number and host, never its secret, path or query."""
    assert f"#{endpoint.pk}" in entry.detail
    assert "93.184.215.1" in entry.detail
    for hidden in (endpoint.secret, "tok3n", "s3cret", "catch/123"):
        assert hidden not in entry.detail, entry.detail


@pytest.fixture
def ada(client):  # type: ignore[no-untyped-def]
    return verified(client, staff("ada", ADMIN))


@pytest.fixture
def token(db) -> str:  # type: ignore[no-untyped-def]
    return token_for(staff("api", ADMIN))


def patch(client, endpoint_id, body, token):  # type: ignore[no-untyped-def]
    return api_patch(client, f"/api/v1/webhooks/{endpoint_id}", body, token)


def form(endpoint: Endpoint, **changes: object) -> dict[str, object]:
    return {"url": endpoint.url, "description": endpoint.description, "events": endpoint.events, **changes}


# The admin


def test_creating_an_endpoint_in_the_admin_is_audited(ada):
    ada.post(ADD, {"url": HOOK, "description": "CRM", "events": ["campaign.sent", "donation.received"]})

    endpoint = Endpoint.objects.get()
    [entry] = entries("webhook-created")
    assert entry.actor.username == "ada"
    assert_discreet(entry, endpoint)
    assert "campaign.sent" in entry.detail and "donation.received" in entry.detail


def test_changing_an_endpoint_in_the_admin_says_what_changed(ada):
    endpoint = make_endpoint(HOOK, ["campaign.sent"], description="CRM")

    response = ada.post(change_url(endpoint), form(endpoint, url=OTHER, events=["campaign.sent", "action.signed"]))

    assert response.status_code == 302
    [entry] = entries("webhook-changed")
    assert entry.actor.username == "ada"
    assert_discreet(entry, endpoint)
    assert "93.184.215.15" in entry.detail and "+action.signed" in entry.detail
    assert "other/path" not in entry.detail


def test_saving_an_endpoint_unchanged_in_the_admin_writes_nothing(ada):
    endpoint = make_endpoint(HOOK, ["campaign.sent"], description="CRM")

    response = ada.post(change_url(endpoint), form(endpoint))

    assert response.status_code == 302
    assert not AuditLog.objects.exists()


def test_deleting_endpoints_in_the_admin_is_audited_one_entry_each(ada):
    first, second = make_endpoint(HOOK), make_endpoint(OTHER)

    ada.post(reverse("admin:integrations_endpoint_delete", args=[first.pk]), {"post": "yes"})
    ada.post(ENDPOINTS, {"action": "delete_selected", "_selected_action": [second.pk], "post": "yes"})

    assert not Endpoint.objects.exists()
    deleted = entries("webhook-deleted")
    assert [entry.actor.username for entry in deleted] == ["ada", "ada"]
    assert_discreet(deleted[0], first)
    assert f"#{second.pk}" in deleted[1].detail


def test_rotating_in_the_admin_is_audited(ada):
    endpoint = make_endpoint(HOOK)

    ada.post(reverse("admin:integrations_endpoint_rotate_secret", args=[endpoint.pk]))

    [entry] = entries("webhook-secret-rotated")
    assert entry.actor.username == "ada"
    assert_discreet(entry, Endpoint.objects.get(pk=endpoint.pk))
    assert endpoint.secret not in entry.detail


def test_re_enabling_is_audited_and_re_enabling_an_active_endpoint_writes_nothing(ada):
    endpoint = make_endpoint(HOOK)
    active = make_endpoint(OTHER)
    health.disable(endpoint, reason="Every delivery failed for 24 hours.")

    ada.post(ENDPOINTS, {"action": "reenable", "_selected_action": [endpoint.pk, active.pk]})

    [entry] = entries("webhook-changed")
    assert entry.actor.username == "ada" and "enabled" in entry.detail
    assert f"#{endpoint.pk}" in entry.detail and f"#{active.pk}" not in entry.detail


# The API


def test_creating_through_the_api_is_audited(client, token):
    response = api_post(client, "/api/v1/webhooks", {"url": HOOK, "events": ["campaign.sent"]}, token)

    endpoint = Endpoint.objects.get(pk=response.json()["id"])
    [entry] = entries("webhook-created")
    assert entry.actor.username == "api"
    assert_discreet(entry, endpoint)


def test_patching_through_the_api_is_audited_and_a_patch_that_changes_nothing_writes_nothing(client, token):
    endpoint = make_endpoint(HOOK, ["campaign.sent"])

    response = patch(client, endpoint.pk, {"events": ["campaign.sent", "donation.received"], "active": False}, token)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["events"] == ["campaign.sent", "donation.received"] and body["active"] is False
    assert "secret" not in body and endpoint.secret not in response.content.decode()
    [entry] = entries("webhook-changed")
    assert entry.actor.username == "api" and "+donation.received" in entry.detail and "disabled" in entry.detail
    assert_discreet(entry, endpoint)

    again = patch(client, endpoint.pk, {"events": ["donation.received", "campaign.sent"], "active": False}, token)
    assert again.status_code == 200
    assert patch(client, endpoint.pk, {}, token).status_code == 200
    assert len(entries("webhook-changed")) == 1

    assert patch(client, endpoint.pk, {"active": True}, token).json()["active"] is True
    assert "enabled" in entries("webhook-changed")[-1].detail


def test_changing_the_url_through_the_api_is_audited_by_host(client, token):
    endpoint = make_endpoint(HOOK, ["campaign.sent"])

    response = patch(client, endpoint.pk, {"url": OTHER}, token)

    assert response.status_code == 200 and response.json()["url"] == OTHER
    [entry] = entries("webhook-changed")
    assert "93.184.215.14" in entry.detail and "93.184.215.15" in entry.detail
    assert "other/path" not in entry.detail and "tok3n" not in entry.detail


def test_deleting_through_the_api_is_audited(client, token):
    endpoint = make_endpoint(HOOK)

    assert client.delete(f"/api/v1/webhooks/{endpoint.pk}", **bearer(token)).status_code == 204

    [entry] = entries("webhook-deleted")
    assert entry.actor.username == "api"
    assert_discreet(entry, endpoint)


def test_rotating_through_the_api_is_audited(client, token):
    endpoint = make_endpoint(HOOK)

    response = api_post(client, f"/api/v1/webhooks/{endpoint.pk}/rotate-secret", {}, token)

    [entry] = entries("webhook-secret-rotated")
    assert entry.actor.username == "api"
    assert_discreet(entry, endpoint)
    assert response.json()["secret"] not in entry.detail
