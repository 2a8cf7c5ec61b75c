"""/api/v1/journeys: the SPEC's contract, and bad input answered 400 with nothing written."""

from __future__ import annotations

import json

import pytest

from campaigns.models import AuditLog, Campaign
from campaigns.staff.roles import ADMIN, SENDER, WRITER
from journeys import engine
from journeys.models import Enrolment, Journey, Step
from subscribers.services import leaving, signup
from tests.support.factories.subscribers import make_list, make_people
from tests.support.personas import bearer, staff, token_for

pytestmark = pytest.mark.django_db

WELCOME = {
    "name": "Welcome series",
    "trigger": {"type": "joined_list", "list": "peru"},
    "steps": [
        {
            "email": {
                "subject": "Welcome",
                "body_markdown": "Hello {{ name }}.",
                "translations": {"es": {"subject": "Hola"}},
            }
        },
        {"wait": {"minutes": 30}},
        {"email": {"subject": "Second", "body_markdown": "More."}},
    ],
}


def post(client, body, token):
    payload = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post("/api/v1/journeys", payload, content_type="application/json", **bearer(token))


@pytest.fixture
def token():
    return token_for(staff("ada", ADMIN))


def test_a_journey_is_created_and_read_back_with_its_counts(client, token):
    peru = make_list("peru")
    make_people(4, peru)  # already on the list: they do not enter
    response = post(client, WELCOME, token)
    assert response.status_code == 201, response.content
    journey_id = response.json()["id"]
    journey = Journey.objects.get(pk=journey_id)
    kinds = [step.kind for step in journey.steps.order_by("position")]
    assert kinds == [Step.Kind.EMAIL, Step.Kind.WAIT, Step.Kind.EMAIL]
    first = journey.steps.order_by("position").first().campaign
    assert first.translations.get().subject == "Hola"
    assert first.automated and first.status == Campaign.Status.SENDING

    for index in range(3):
        signup.subscribe(email=f"new{index}@example.org", lists=[peru], source="api", double_opt_in=False)
    engine.run_batch()
    leaving.unsubscribe(subscriber=Enrolment.objects.first().subscriber, channel="page")

    read = client.get(f"/api/v1/journeys/{journey_id}", **bearer(token))
    assert read.status_code == 200
    assert read.json() == {
        "id": journey_id,
        "name": "Welcome series",
        "active": True,
        "counts": {"entered": 3, "active": 2, "completed": 0, "exited": 1},
    }


def test_it_can_be_created_paused_with_waits_until_a_weekday(client, token):
    make_list("peru")
    body = {**WELCOME, "active": False, "steps": [{"wait": {"weekday": "monday", "time": "09:30"}}]}
    response = post(client, body, token)
    assert response.status_code == 201, response.content
    journey = Journey.objects.get(pk=response.json()["id"])
    assert journey.status == Journey.Status.PAUSED
    step = journey.steps.get()
    assert (step.wait_weekday, step.wait_time.strftime("%H:%M")) == (0, "09:30")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**WELCOME, "trigger": {"type": "joined_list", "list": "nowhere"}}, "trigger.list"),
        ({**WELCOME, "trigger": {"type": "joined_list"}}, "trigger.list"),
        ({**WELCOME, "trigger": {"type": "acted", "action": "no-such-action"}}, "trigger.action"),
        ({**WELCOME, "steps": [{"wait": {"minutes": 5, "days": 1}}]}, "steps.0"),
        ({**WELCOME, "steps": [{"wait": {"weekday": "monday"}}]}, "steps.0"),
        ({**WELCOME, "steps": [{}]}, "steps.0"),
        ({**WELCOME, "steps": [{"if": {"condition": "clicked", "go_to": 1}}]}, "steps"),
        ({**WELCOME, "steps": [{"email": {"subject": "Hi *|FNAME|*", "body_markdown": "x"}}]}, "steps"),
        ({**WELCOME, "steps": []}, "steps"),
        ({**WELCOME, "name": "two\nlines"}, "name"),
    ],
)
def test_bad_input_is_a_400_by_field_and_writes_nothing(client, token, body, field):
    make_list("peru")
    response = post(client, body, token)
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert any(key == field or key.startswith(field) for key in errors), errors
    assert not Journey.objects.exists()
    assert not Campaign.objects.exists()


def test_it_needs_a_token_and_the_permission(client):
    make_list("peru")
    assert client.post("/api/v1/journeys", json.dumps(WELCOME), content_type="application/json").status_code == 401
    nobody = token_for(staff("norole", None))
    assert post(client, WELCOME, nobody).status_code == 403
    assert client.get("/api/v1/journeys/1", **bearer(nobody)).status_code == 403


def test_a_writer_drafts_a_journey_paused_and_only_a_sender_starts_one(client):
    make_list("peru")
    writer = token_for(staff("wes", WRITER))
    refused = post(client, WELCOME, writer)
    assert refused.status_code == 403
    assert '"active" set to false' in refused.json()["detail"]
    drafted = post(client, {**WELCOME, "active": False}, writer)
    assert drafted.status_code == 201
    shown = client.get(f"/api/v1/journeys/{drafted.json()['id']}", **bearer(writer)).json()
    assert shown["active"] is False
    assert post(client, {**WELCOME, "name": "Started"}, token_for(staff("sue", SENDER))).status_code == 201
    assert Journey.objects.get(name="Started").active


def test_an_unknown_journey_is_a_404(client, token):
    assert client.get("/api/v1/journeys/999999", **bearer(token)).status_code == 404


def patch(client, journey_id, body, token):
    payload = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.patch(f"/api/v1/journeys/{journey_id}", payload, content_type="application/json", **bearer(token))


def test_a_journey_is_paused_and_resumed_with_patch(client, token):
    make_list("peru")
    journey_id = post(client, WELCOME, token).json()["id"]
    paused = patch(client, journey_id, {"active": False}, token)
    assert paused.status_code == 200, paused.content
    assert paused.json()["active"] is False
    assert Journey.objects.get(pk=journey_id).status == Journey.Status.PAUSED
    assert patch(client, journey_id, {"active": False}, token).json()["active"] is False, "twice is harmless"
    resumed = patch(client, journey_id, {"active": True}, token)
    assert resumed.json() == {**resumed.json(), "id": journey_id, "active": True}
    assert Journey.objects.get(pk=journey_id).active
    logged = AuditLog.objects.filter(action__startswith="journey-").order_by("id")
    assert [(entry.action, entry.detail) for entry in logged] == [
        ("journey-paused", f"journey #{journey_id} Welcome series"),
        ("journey-resumed", f"journey #{journey_id} Welcome series"),
    ], "one entry per change, none for pausing a paused journey"
    assert all(entry.actor is not None for entry in logged)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "active"),
        ({"active": None}, "active"),
        ({"active": "no"}, "active"),
        ({"active": 0}, "active"),
        ({"active": False, "name": "Renamed"}, "name"),
        ('{"active": fals', ""),
        ('"\\u0000"', ""),
    ],
)
def test_a_bad_patch_is_a_400_and_changes_nothing(client, token, body, field):
    make_list("peru")
    journey_id = post(client, WELCOME, token).json()["id"]
    response = patch(client, journey_id, body, token)
    assert response.status_code == 400, response.content
    if field:
        assert any(key.startswith(field) for key in response.json()["errors"]), response.json()
    journey = Journey.objects.get(pk=journey_id)
    assert (journey.active, journey.name) == (True, "Welcome series")


def test_only_a_sender_pauses_and_an_unknown_journey_is_a_404(client, token):
    make_list("peru")
    journey_id = post(client, WELCOME, token).json()["id"]
    writer = token_for(staff("wes", WRITER))
    assert patch(client, journey_id, {"active": False}, writer).status_code == 403
    assert Journey.objects.get(pk=journey_id).active
    assert patch(client, journey_id, {"active": False}, token_for(staff("sue", SENDER))).status_code == 200
    assert patch(client, 999999, {"active": True}, token).status_code == 404
    assert client.patch(f"/api/v1/journeys/{journey_id}", "{}", content_type="application/json").status_code == 401


def test_the_list_shows_every_journey_with_its_counts(client, token):
    peru = make_list("peru")
    first = post(client, {**WELCOME, "name": "B welcome"}, token).json()["id"]
    second = post(client, {**WELCOME, "name": "A paused", "active": False}, token).json()["id"]
    signup.subscribe(email="new@example.org", lists=[peru], source="api", double_opt_in=False)
    listed = client.get("/api/v1/journeys", **bearer(token))
    assert listed.status_code == 200
    zero = {"entered": 0, "active": 0, "completed": 0, "exited": 0}
    assert listed.json() == [
        {"id": second, "name": "A paused", "active": False, "counts": {**zero, "entered": 1, "active": 1}},
        {"id": first, "name": "B welcome", "active": True, "counts": {**zero, "entered": 1, "active": 1}},
    ]
    assert client.get("/api/v1/journeys", **bearer(token_for(staff("wes", WRITER)))).status_code == 200
    assert client.get("/api/v1/journeys", **bearer(token_for(staff("norole", None)))).status_code == 403
    assert client.get("/api/v1/journeys").status_code == 401
