"""The JSON API's door: Bearer tokens, 401 and 403, JSON errors for unknown paths and methods."""

from __future__ import annotations

import pytest

from campaigns.models import ApiToken
from campaigns.staff.roles import ADMIN
from tests.support.factories import mailing_list
from tests.support.personas import admin, bearer, staff, token_for

pytestmark = pytest.mark.django_db


# --- Authentication -----------------------------------------------------------------


def test_a_request_without_a_token_is_refused_with_401_json(client):
    response = client.get("/api/v1/lists")
    assert response.status_code == 401
    assert "detail" in response.json()
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_wrong_token_is_refused_with_401(client, writer_token):
    response = client.get("/api/v1/lists", **bearer(writer_token + "x"))
    assert response.status_code == 401


def test_a_session_cookie_is_not_enough_for_the_api(client):
    client.force_login(admin())
    assert client.get("/api/v1/lists").status_code == 401


def test_the_token_of_a_deactivated_user_stops_working(client):
    user = staff("gone", ADMIN)
    token = token_for(user)
    user.is_active = False
    user.save()
    assert client.get("/api/v1/lists", **bearer(token)).status_code == 401


def test_only_a_hash_of_the_token_is_stored(writer_token):
    stored = ApiToken.objects.get()
    assert writer_token not in stored.key_hash
    assert len(stored.key_hash) == 64


def test_the_openapi_schema_describes_every_endpoint(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    for path in ("/lists", "/subscribers", "/campaigns", "/campaigns/{id}", "/campaigns/{id}/send"):
        assert path in schema["paths"]


# --- Lists ---------------------------------------------------------------------------------


def test_lists_are_returned_as_an_array(client, writer_token):
    mailing_list("mining")
    response = client.get("/api/v1/lists", **bearer(writer_token))
    assert response.status_code == 200
    assert response.json() == [{"id": response.json()[0]["id"], "slug": "mining", "name": "Mining", "public": True}]


def test_an_unknown_path_is_a_json_404(client):
    response = client.get("/api/v1/nothing/here")
    assert response.status_code == 404
    assert "openapi.json" in response.json()["detail"]


def test_a_wrong_method_is_a_405_not_a_500(client, writer_token):
    assert client.delete("/api/v1/lists", **bearer(writer_token)).status_code == 405
