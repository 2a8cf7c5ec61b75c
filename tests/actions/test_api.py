"""/api/v1/actions as a client sees it: create, read, and signatures from another website."""

from __future__ import annotations

import json

import pytest

from actions.models import Action, Letter, Signature
from subscribers.models import Consent, MailingList, Subscriber
from tests.support import personas
from tests.support.factories import group, letter, petition, riding_map
from tests.support.personas import admin, bearer, token_for

pytestmark = pytest.mark.django_db


def post(client, url, body, token):  # type: ignore[no-untyped-def]
    payload = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(url, payload, content_type="application/json", **bearer(token))


@pytest.fixture
def token():  # type: ignore[no-untyped-def]
    return token_for(admin())


PETITION = {
    "kind": "petition",
    "slug": "free-the-defenders",
    "title": "Free the water defenders of San Rafael",
    "body_markdown": "Five people are in jail for **defending a river**.",
    "goal": 5000,
}


def test_a_petition_is_created_open_and_can_be_read_back(client, token):
    MailingList.objects.create(slug="guatemala", name="Guatemala")
    response = post(client, "/api/v1/actions", {**PETITION, "lists": ["guatemala"]}, token)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["slug"] == "free-the-defenders"
    assert body["url"].endswith("/act/free-the-defenders/")
    action = Action.objects.get(pk=body["id"])
    assert action.status == Action.Status.OPEN and action.opened_at is not None
    assert list(action.lists.values_list("slug", flat=True)) == ["guatemala"]

    detail = client.get("/api/v1/actions/free-the-defenders", **bearer(token)).json()
    assert detail == {
        "id": action.pk,
        "slug": "free-the-defenders",
        "kind": "petition",
        "title": "Free the water defenders of San Rafael",
        "status": "open",
        "goal": 5000,
        "url": body["url"],
        "counts": {"signatures": 0, "letters": {"sent": 0, "failed": 0, "pending": 0, "unknown": 0, "by_hand": 0}},
        "letter": None,
        "delivery": None,
    }
    listing = client.get("/api/v1/actions", **bearer(token)).json()
    assert [item["slug"] for item in listing] == ["free-the-defenders"]


def test_a_draft_stays_a_draft(client, token):
    response = post(client, "/api/v1/actions", {**PETITION, "status": "draft"}, token)
    assert response.status_code == 201
    assert Action.objects.get().status == Action.Status.DRAFT


def test_a_letter_by_district_to_a_group(client, token):
    group("mps")
    response = post(
        client,
        "/api/v1/actions",
        {
            "kind": "letter",
            "slug": "binding-rules",
            "title": "Binding rules for mining companies",
            "body_markdown": "Write to your MP.",
            "letter": {"subject": "Binding rules now", "body": "Dear MP, …", "edit_policy": "full", "edit_limit": 3000},
            "targets": {"group": "mps", "by_district": True},
        },
        token,
    )
    assert response.status_code == 201, response.json()
    action = Action.objects.get()
    assert (action.kind, action.target_group.slug, action.by_district) == ("letter", "mps", True)
    assert (action.letter_subject, action.edit_policy, action.edit_limit) == ("Binding rules now", "full", 3000)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "letter", "targets": {"group": "mps"}}, "letter.subject"),
        ({"kind": "letter", "letter": {"subject": "S", "body": "B"}}, "targets"),
        ({"kind": "letter", "letter": {"subject": "S", "body": "B"}, "targets": {"group": "nobody"}}, "targets.group"),
        ({"slug": "not a slug"}, "slug"),
        ({"title": "Two\r\nlines"}, "title"),
        ({"body_markdown": "nul \x00 here"}, "body_markdown"),
        ({"body_markdown": "lone \ud800 surrogate"}, "body_markdown"),
        ({"goal": "many"}, "goal"),
        ({"lists": ["nope"]}, "lists"),
        ({"status": "closed"}, "status"),
        ({"kind": "poll"}, "kind"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(client, token, body, field):
    group("mps")
    response = post(client, "/api/v1/actions", {**PETITION, **body}, token)
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"], response.json()
    assert not Action.objects.exists()


def test_a_slug_already_taken_is_a_400(client, token):
    post(client, "/api/v1/actions", PETITION, token)
    response = post(client, "/api/v1/actions", PETITION, token)
    assert response.status_code == 400
    assert "slug" in response.json()["errors"]


def test_auth_and_permissions(client):
    assert client.get("/api/v1/actions").status_code == 401
    assert post(client, "/api/v1/actions", PETITION, "tocsin_wrong").status_code == 401
    writer = token_for(personas.writer())
    # Writers draft actions; opening one (publishing it) is for senders and admins.
    assert post(client, "/api/v1/actions", PETITION, writer).status_code == 403
    assert post(client, "/api/v1/actions", {**PETITION, "status": "draft"}, writer).status_code == 201
    assert client.get(f"/api/v1/actions/{PETITION['slug']}", **bearer(writer)).status_code == 200
    nobody = token_for(personas.staff("nadia", None))
    assert post(client, "/api/v1/actions", {**PETITION, "status": "draft"}, nobody).status_code == 403
    assert client.get("/api/v1/actions/x", **bearer(nobody)).status_code == 403


def test_an_unknown_action_is_a_json_404(client, token):
    response = client.get("/api/v1/actions/nope", **bearer(token))
    assert response.status_code == 404 and response.json()["detail"]
    assert post(client, "/api/v1/actions/nope/signatures", {}, token).status_code == 404


# --- signatures ----------------------------------------------------------------------------------


def test_another_website_posts_a_signature_once(client, token):
    action = petition()
    body = {"email": "lucia@example.org", "name": "Lucía", "postal_code": "k1a0b1", "source": "friends.example"}

    first = post(client, "/api/v1/actions/stop-the-mine/signatures", body, token)
    again = post(client, "/api/v1/actions/stop-the-mine/signatures", {**body, "name": "Other"}, token)

    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    signature = Signature.objects.get()
    assert (signature.name, signature.source, signature.source_detail, signature.postal_code) == (
        "Lucía",
        "api",
        "friends.example",
        "K1A 0B1",
    )
    counts = client.get("/api/v1/actions/stop-the-mine", **bearer(token)).json()["counts"]
    assert counts["signatures"] == 1
    assert action.signatures.count() == 1


def test_a_repeated_letter_is_never_written_twice(client, token):
    riding_map()
    letter()
    body = {"email": "lucia@example.org", "name": "Lucía", "postal_code": "K1A 0B1", "message": "Please act."}
    assert post(client, "/api/v1/actions/write-your-mp/signatures", body, token).json()["letters"] == 1
    assert post(client, "/api/v1/actions/write-your-mp/signatures", body, token).json()["letters"] == 0
    assert Letter.objects.count() == 1
    counts = client.get("/api/v1/actions/write-your-mp", **bearer(token)).json()["counts"]
    assert counts["letters"]["pending"] == 1


def test_an_ambiguous_postal_code_is_a_400_with_the_choices_then_a_district_signs(client, token):
    riding_map()
    letter()
    body = {"email": "lucia@example.org", "name": "Lucía", "postal_code": "K2B 1A1"}
    response = post(client, "/api/v1/actions/write-your-mp/signatures", body, token)

    assert response.status_code == 400
    assert "district" in response.json()["errors"]
    assert [choice["code"] for choice in response.json()["choices"]] == ["90002", "90003"]
    assert not Signature.objects.exists()

    response = post(client, "/api/v1/actions/write-your-mp/signatures", {**body, "district": "90002"}, token)
    assert response.status_code == 201
    assert Letter.objects.get().target.email == "ben.okafor@parl.example"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "nope"}, "email"),
        ({"name": None}, "name"),
        ({"postal_code": "12345"}, "postal_code"),
        ({"message": "\ud800"}, "message"),
        ({"email": "a@example.org\nBcc: b@example.org"}, "email"),
        ({"opt_in_lists": ["nope"]}, "opt_in_lists"),
        ({"opt_in_lists": "peru"}, "opt_in_lists"),
    ],
)
def test_bad_signatures_are_400s(client, token, body, field):
    petition()
    base = {"email": "lucia@example.org", "name": "Lucía"}
    response = post(client, "/api/v1/actions/stop-the-mine/signatures", {**base, **body}, token)
    assert response.status_code == 400
    assert field in response.json()["errors"], response.json()
    assert not Signature.objects.exists()


def test_a_closed_action_answers_409(client, token):
    petition(status=Action.Status.CLOSED)
    response = post(client, "/api/v1/actions/stop-the-mine/signatures", {"email": "a@example.org", "name": "A"}, token)
    assert response.status_code == 409


def test_opting_in_through_the_api_asks_for_confirmation(client, token, django_capture_on_commit_callbacks):
    action = petition()
    action.lists.set([MailingList.objects.create(slug="peru", name="Peru")])
    with django_capture_on_commit_callbacks(execute=True):
        response = post(
            client,
            "/api/v1/actions/stop-the-mine/signatures",
            {"email": "lucia@example.org", "name": "Lucía", "opt_in_lists": ["peru"], "source": "friends.example"},
            token,
        )
    assert response.status_code == 201
    assert Subscriber.objects.get().status == Subscriber.Status.PENDING
    consent = Consent.objects.get()
    assert (consent.source, consent.detail) == ("api", "action: stop-the-mine; friends.example")


def test_the_openapi_document_describes_the_actions_endpoints(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert {"/actions", "/actions/{slug}", "/actions/{slug}/signatures"} <= set(schema["paths"])
    assert "ActionInput" in schema["components"]["schemas"]
    assert schema["paths"]["/actions/{slug}/signatures"]["post"]["responses"]["200"]


def test_an_unknown_field_is_refused_not_ignored(client, token):
    response = post(client, "/api/v1/actions", {**PETITION, "gaol": 10}, token)
    assert response.status_code == 400
    assert response.json()["errors"] == {"gaol": ["Unknown field."]}
    petition()
    signed = post(
        client, "/api/v1/actions/stop-the-mine/signatures", {"email": "a@example.org", "name": "A", "nmae": "B"}, token
    )
    assert signed.status_code == 400
    assert signed.json()["errors"] == {"nmae": ["Unknown field."]}
    assert not Signature.objects.exists()
