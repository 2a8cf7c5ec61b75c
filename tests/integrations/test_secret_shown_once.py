"""A signing secret is shown once: right after creation or rotation, on a page that says to copy it now.

Afterwards the admin shows it masked (``whsec_…`` and its last four characters) beside a "Rotate secret"
button, and the API's GET never returns it. Only staff who may change endpoints rotate; bad input is a
form error or a 4xx, never a 500.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from campaigns.models import AuditLog
from campaigns.staff.roles import ADMIN, SENDER, WRITER
from integrations.models import Endpoint
from tests.support.factories.integrations import make_endpoint
from tests.support.personas import api_patch, api_post, bearer, staff, token_for, verified

pytestmark = pytest.mark.django_db

ADD = reverse("admin:integrations_endpoint_add")
ENDPOINTS = reverse("admin:integrations_endpoint_changelist")
HOOK = "https://93.184.215.14/hooks"


def shown_once() -> str:
    return reverse("admin:integrations_endpoint_secret")


def change_url(endpoint: Endpoint) -> str:
    return reverse("admin:integrations_endpoint_change", args=[endpoint.pk])


def rotate_url(endpoint: Endpoint) -> str:
    return reverse("admin:integrations_endpoint_rotate_secret", args=[endpoint.pk])


def masked(secret: str) -> str:
    return f"whsec_…{secret.rstrip('=')[-4:]}"


def test_the_mask_shows_four_characters_that_tell_secrets_apart():
    from integrations.admin.endpoints import masked as shown

    # Standard Webhooks secrets are base64: the padding is the same in all of them.
    assert shown("whsec_QUJDREVGR0hJSg==") == "whsec_…hJSg"
    assert shown("whsec_QUJDREVGR0hJ") == "whsec_…R0hJ"
    assert shown("") == "—"


@pytest.fixture
def ada(client):  # type: ignore[no-untyped-def]
    return verified(client, staff("ada", ADMIN))


def test_the_secret_is_shown_once_after_creation_then_only_masked(ada):
    response = ada.post(ADD, {"url": HOOK, "events": ["campaign.sent"]}, follow=True)

    endpoint = Endpoint.objects.get()
    page = response.content.decode()
    assert response.redirect_chain[-1][0] == shown_once()
    assert endpoint.secret in page and "Copy" in page
    assert response.headers["Cache-Control"].startswith("max-age=0") or "no-store" in response.headers["Cache-Control"]

    again = ada.get(shown_once()).content.decode()
    assert endpoint.secret not in again
    change = ada.get(change_url(endpoint)).content.decode()
    assert endpoint.secret not in change
    assert masked(endpoint.secret) in change and rotate_url(endpoint) in change
    assert endpoint.secret not in ada.get(ENDPOINTS).content.decode()


def test_rotate_asks_first_explains_the_grace_period_then_shows_the_new_secret_once(ada, settings):
    settings.TOCSIN_WEBHOOK_SECRET_GRACE_HOURS = 24
    endpoint = make_endpoint(HOOK)
    old = endpoint.secret

    confirm = ada.get(rotate_url(endpoint))
    assert confirm.status_code == 200
    assert "24 hours" in confirm.content.decode() and old not in confirm.content.decode()
    assert Endpoint.objects.get(pk=endpoint.pk).secret == old  # a GET changes nothing

    response = ada.post(rotate_url(endpoint), follow=True)

    new = Endpoint.objects.get(pk=endpoint.pk).secret
    assert new != old
    page = response.content.decode()
    assert new in page and old not in page and "24 hours" in page
    assert new not in ada.get(shown_once()).content.decode()
    change = ada.get(change_url(endpoint)).content.decode()
    assert new not in change and old not in change and masked(new) in change


def test_someone_who_may_only_view_endpoints_sees_the_mask_and_cannot_rotate(client):
    viewer = staff("val", None)
    viewer.user_permissions.add(Permission.objects.get(codename="view_endpoint"))
    verified(client, viewer)
    endpoint = make_endpoint(HOOK)

    page = client.get(change_url(endpoint)).content.decode()
    assert masked(endpoint.secret) in page and endpoint.secret not in page
    assert rotate_url(endpoint) not in page
    assert client.get(rotate_url(endpoint)).status_code == 403
    assert client.post(rotate_url(endpoint)).status_code == 403
    assert Endpoint.objects.get(pk=endpoint.pk).secret == endpoint.secret
    assert not AuditLog.objects.exists()


def test_writers_and_strangers_get_nothing(client):
    endpoint = make_endpoint(HOOK)
    for url in (shown_once(), rotate_url(endpoint)):
        anonymous = client.post(url)
        assert anonymous.status_code == 302 and "login" in anonymous["Location"]
    verified(client, staff("wes", WRITER))
    for url in (shown_once(), rotate_url(endpoint)):
        assert client.get(url).status_code == 403
        assert client.post(url).status_code == 403
    assert Endpoint.objects.get(pk=endpoint.pk).secret == endpoint.secret


def test_rotating_an_unknown_or_malformed_endpoint_is_a_4xx(ada):
    for pk in ("999999", "x" * 1000, "1e3"):
        assert ada.post(f"/admin/integrations/endpoint/{pk}/rotate-secret/").status_code == 404
    # The middleware that refuses NUL bytes answers before the admin.
    assert ada.post("/admin/integrations/endpoint/12\x0034/rotate-secret/").status_code == 400


def refused(response) -> None:  # type: ignore[no-untyped-def]
    """A form error on the page, or a 400 from the middleware that refuses NUL bytes outright."""
    assert response.status_code in (200, 400), response.status_code
    if response.status_code == 200:
        assert "errorlist" in response.content.decode()


def test_nul_bytes_huge_and_private_urls_are_form_errors_in_the_admin(ada, settings):
    settings.TOCSIN_WEBHOOK_ALLOW_PRIVATE = False
    for url in ("https://93.184.215.14/a\x00b", "https://93.184.215.14/" + "a" * 1_000_000, "https://10.1.2.3/x"):
        refused(ada.post(ADD, {"url": url, "events": ["campaign.sent"]}))
    endpoint = make_endpoint(HOOK, ["campaign.sent"])
    refused(ada.post(change_url(endpoint), {"url": "https://127.0.0.1/x", "events": ["campaign.sent"]}))
    refused(ada.post(change_url(endpoint), {"url": HOOK, "events": ["campaign.sent\x00"]}))
    assert Endpoint.objects.get(pk=endpoint.pk).url == HOOK
    assert Endpoint.objects.count() == 1 and not AuditLog.objects.exists()


# The API


@pytest.fixture
def token(db) -> str:  # type: ignore[no-untyped-def]
    return token_for(staff("api", ADMIN))


def patch(client, endpoint_id, body, token):  # type: ignore[no-untyped-def]
    return api_patch(client, f"/api/v1/webhooks/{endpoint_id}", body, token)


def test_the_api_returns_the_secret_on_creation_and_rotation_only(client, token):
    created = api_post(client, "/api/v1/webhooks", {"url": HOOK, "events": ["campaign.sent"]}, token).json()
    rotated = api_post(client, f"/api/v1/webhooks/{created['id']}/rotate-secret", {}, token).json()

    for url in ("/api/v1/webhooks", f"/api/v1/webhooks/{created['id']}"):
        text = client.get(url, **bearer(token)).content.decode()
        assert created["secret"] not in text and rotated["secret"] not in text and "whsec_" not in text
    text = patch(client, created["id"], {"description": "CRM"}, token).content.decode()
    assert rotated["secret"] not in text and "whsec_" not in text


def test_patch_refuses_bad_input_cleanly_and_changes_nothing(client, token, settings):
    settings.TOCSIN_WEBHOOK_ALLOW_PRIVATE = False
    endpoint = make_endpoint(HOOK, ["campaign.sent"])
    for body in (
        {"url": "https://93.184.215.14/a\x00b"},
        {"url": "https://93.184.215.14/" + "a" * 1_000_000},
        {"url": "https://169.254.169.254/latest"},
        {"url": "https://[::1]/x"},
        {"events": ["campaign.sent\x00"]},
        {"events": []},
        {"events": ["person.born"]},
        {"active": "yes"},
        {"secret": "whsec_mine"},
        "not json",
        "\x00",
    ):
        response = patch(client, endpoint.pk, body, token)
        assert response.status_code in (400, 422), (body, response.status_code)
    assert patch(client, 999999, {"active": True}, token).status_code == 404
    unchanged = Endpoint.objects.get(pk=endpoint.pk)
    assert (unchanged.url, unchanged.events, unchanged.secret) == (HOOK, ["campaign.sent"], endpoint.secret)
    assert not AuditLog.objects.exists()


def test_patch_needs_the_permission_to_change_endpoints(client):
    endpoint = make_endpoint(HOOK, ["campaign.sent"])
    assert client.patch(f"/api/v1/webhooks/{endpoint.pk}", "{}", content_type="application/json").status_code == 401
    sender = token_for(staff("sam", SENDER))
    assert patch(client, endpoint.pk, {"active": False}, sender).status_code == 403
    assert Endpoint.objects.get(pk=endpoint.pk).active
