"""POST /api/v1/subscribers: who may add people, consent on record, a 400 naming the field."""

from __future__ import annotations

import pytest

from subscribers.models import Consent, Subscriber, Subscription
from tests.support.factories import mailing_list
from tests.support.personas import api_post as post

pytestmark = pytest.mark.django_db


# --- Subscribers -----------------------------------------------------------------------------


def test_an_admin_token_adds_a_confirmed_subscriber_with_the_consent_recorded(client, admin_token):
    mailing_list("mining")
    body = {"email": "Rosa@Example.net", "name": "Rosa", "lists": ["mining"], "consent_source": "petition, example.org"}
    response = post(client, "/api/v1/subscribers", body, admin_token)
    assert response.status_code == 201
    person = Subscriber.objects.get(email="rosa@example.net")
    assert response.json() == {"id": person.pk, "status": "confirmed"}
    consent = Consent.objects.get(subscriber=person)
    assert consent.source == Consent.Source.API
    assert consent.detail == "petition, example.org"


def test_an_existing_address_answers_200_with_its_id_and_the_lists_added(client, admin_token):
    mailing_list("mining")
    mailing_list("water")
    first = post(
        client,
        "/api/v1/subscribers",
        {"email": "a@example.net", "lists": ["mining"], "consent_source": "x"},
        admin_token,
    )
    again = post(
        client,
        "/api/v1/subscribers",
        {"email": "a@example.net", "lists": ["water"], "consent_source": "y"},
        admin_token,
    )
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    slugs = set(
        Subscription.objects.filter(subscriber_id=first.json()["id"]).values_list("mailing_list__slug", flat=True)
    )
    assert slugs == {"mining", "water"}


def test_double_opt_in_leaves_the_subscriber_pending(client, admin_token):
    mailing_list("mining")
    body = {"email": "p@example.net", "lists": ["mining"], "consent_source": "x", "double_opt_in": True}
    response = post(client, "/api/v1/subscribers", body, admin_token)
    assert response.status_code == 201
    assert response.json()["status"] == "pending"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"lists": ["mining"], "consent_source": "x"}, "email"),
        ({"email": "not-an-address", "lists": ["mining"], "consent_source": "x"}, "email"),
        ({"email": "a@example.net\r\nBcc: b@example.net", "lists": ["mining"], "consent_source": "x"}, "email"),
        ({"email": "a@example.net", "lists": ["nope"], "consent_source": "x"}, "lists"),
        ({"email": "a@example.net", "lists": "mining", "consent_source": "x"}, "lists"),
        ({"email": "a@example.net", "lists": ["mining"]}, "consent_source"),
        ({"email": "a@example.net", "lists": ["mining"], "consent_source": "x", "language": "de"}, "language"),
        (
            {"email": "a@example.net", "lists": ["mining"], "consent_source": "x", "double_opt_in": "yes"},
            "double_opt_in",
        ),
        ({"email": 42, "lists": ["mining"], "consent_source": "x"}, "email"),
        ({"email": "a@example.net", "name": "x" * 500, "lists": ["mining"], "consent_source": "x"}, "name"),
    ],
)
def test_bad_subscriber_input_is_a_400_naming_the_field(client, admin_token, body, field):
    mailing_list("mining")
    response = post(client, "/api/v1/subscribers", body, admin_token)
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Subscriber.objects.exists()


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", "", "null", '"text"', "[" * 5000])
def test_malformed_json_is_a_400(client, admin_token, raw):
    response = post(client, "/api/v1/subscribers", raw, admin_token)
    assert response.status_code == 400
    assert "body" in response.json()["errors"]


def test_a_writer_token_cannot_add_subscribers(client, writer_token):
    mailing_list("mining")
    response = post(
        client,
        "/api/v1/subscribers",
        {"email": "a@example.net", "lists": ["mining"], "consent_source": "x"},
        writer_token,
    )
    assert response.status_code == 403
