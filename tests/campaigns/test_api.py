"""The JSON API as a client sees it: auth, roles, validation, campaign steps."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from campaigns.models import ApiToken, AuditLog, Campaign
from campaigns.staff.roles import ADMIN, SENDER, WRITER
from subscribers.models import Consent, Subscriber, Subscription
from tests.campaigns.staff_helpers import bearer, campaign, mailing_list, staff, token_for

pytestmark = pytest.mark.django_db


def post(client, url, body, token):  # type: ignore[no-untyped-def]
    payload = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(url, payload, content_type="application/json", **bearer(token))


@pytest.fixture
def writer_token():  # type: ignore[no-untyped-def]
    return token_for(staff("wendy", WRITER))


@pytest.fixture
def sender_token():  # type: ignore[no-untyped-def]
    return token_for(staff("sam", SENDER))


@pytest.fixture
def admin_token():  # type: ignore[no-untyped-def]
    return token_for(staff("ada", ADMIN))


def started(made: Campaign) -> list[AuditLog]:
    """The sends and schedules the lifecycle recorded for ``made`` (nothing reaches a worker in these tests)."""
    return list(AuditLog.objects.filter(campaign=made, action__in=["sending", "scheduled"]).select_related("actor"))


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
    client.force_login(staff("ada", ADMIN))
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


# --- Campaigns -------------------------------------------------------------------------------


def test_a_writer_creates_a_draft_with_translations_and_audience(client, writer_token):
    mailing_list("mining")
    body = {
        "kind": "appeal",
        "subject": "Help the defenders' legal fund",
        "body_markdown": "Three community leaders face charges.",
        "lists": ["mining"],
        "language": "en",
        "translations": {"es": {"subject": "Apoye el fondo legal", "body_markdown": "Tres dirigentes…"}},
        "languages": ["en", "es"],
        "exclude_donors_days": 30,
    }
    response = post(client, "/api/v1/campaigns", body, writer_token)
    assert response.status_code == 201
    made = Campaign.objects.get(pk=response.json()["id"])
    assert (made.kind, made.status, made.exclude_donors_days) == ("appeal", "draft", 30)
    assert made.created_by.username == "wendy"
    assert list(made.lists.values_list("slug", flat=True)) == ["mining"]
    assert made.languages == ["en", "es"]
    assert made.translations.get(language="es").subject == "Apoye el fondo legal"
    assert AuditLog.objects.filter(campaign=made, action="created", actor__username="wendy").exists()


def test_a_campaign_made_through_the_api_can_target_recent_openers_and_sign_up_dates(client, writer_token):
    from tests.campaigns.engine_helpers import make_list, make_people
    from tests.campaigns.test_engagement_filter import engage

    peru = make_list("peru")
    opener, stale, _silent = make_people(3, peru)
    engage(opener, "opened", days_ago=5)
    engage(stale, "opened", days_ago=200)
    body = {
        "kind": "bulletin",
        "subject": "For our most active readers",
        "body_markdown": "Text",
        "lists": ["peru"],
        "engaged_within_days": 90,
        "signed_up_after": "2020-01-01T00:00:00+00:00",
    }
    response = post(client, "/api/v1/campaigns", body, writer_token)
    assert response.status_code == 201, response.json()
    data = client.get(f"/api/v1/campaigns/{response.json()['id']}", **bearer(writer_token)).json()
    assert data["audience"]["engaged_within_days"] == 90
    assert data["audience"]["signed_up_after"].startswith("2020-01-01T00:00:00")
    assert data["audience"]["lists"] == ["peru"]
    assert data["counts"]["recipients"] == 1  # only the recent opener


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"subject": "Urgent\r\nBcc: everyone@example.net"}, "subject"),
        ({"subject": "x" * 201}, "subject"),
        ({"subject": ""}, "subject"),
        ({"kind": "newsletter"}, "kind"),
        ({"kind": None}, "kind"),
        ({"lists": ["unknown"]}, "lists"),
        ({"lists": []}, "lists"),
        ({"body_markdown": "x" * 100_001}, "body_markdown"),
        ({"body_markdown": 12}, "body_markdown"),
        ({"language": "de"}, "language"),
        ({"languages": ["en", "klingon"]}, "languages"),
        ({"exclude_donors_days": 30}, "exclude_donors_days"),
        ({"engaged_within_days": 0}, "engaged_within_days"),
        ({"engaged_within_days": "soon"}, "engaged_within_days"),
        ({"signed_up_after": "last spring"}, "signed_up_after"),
        ({"signed_up_after": "2026-05-01T00:00:00Z", "signed_up_before": "2026-01-01T00:00:00Z"}, "signed_up_before"),
        ({"translations": {"es": {"subject": "a\nb"}}}, "translations.es.subject"),
        ({"translations": {"xx": {"subject": "a"}}}, "translations"),
        ({"translations": ["es"]}, "translations"),
        ({"call_to_action_url": "javascript:alert(1)"}, "call_to_action_url"),
    ],
)
def test_bad_campaign_input_is_a_400_naming_the_field(client, writer_token, change, field):
    mailing_list("mining")
    body = {"kind": "bulletin", "subject": "Weekly", "body_markdown": "Text", "lists": ["mining"], **change}
    body = {key: value for key, value in body.items() if value is not None}
    response = post(client, "/api/v1/campaigns", body, writer_token)
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Campaign.objects.exists()


def test_reading_a_draft_gives_its_live_audience_count(client, writer_token):
    mining = mailing_list("mining", people=3)
    made = campaign(lists=[mining])
    response = client.get(f"/api/v1/campaigns/{made.pk}", **bearer(writer_token))
    assert response.status_code == 200
    data = response.json()
    assert {key: data[key] for key in ("id", "kind", "subject", "status")} == {
        "id": made.pk,
        "kind": "bulletin",
        "subject": made.subject,
        "status": "draft",
    }
    assert data["counts"] == {
        "recipients": 3,
        "sent": 0,
        "failed": 0,
        "unknown": 0,
        "pending": 0,
        "capped": 0,
        "delivered": None,
    }


def test_an_unknown_campaign_is_a_404(client, writer_token):
    assert client.get("/api/v1/campaigns/999", **bearer(writer_token)).status_code == 404


def test_a_writer_token_cannot_send(client, writer_token):
    made = campaign(lists=[mailing_list()])
    response = post(client, f"/api/v1/campaigns/{made.pk}/send", {}, writer_token)
    assert response.status_code == 403
    assert started(made) == []


def test_a_sender_token_sends_now(client, sender_token):
    made = campaign(lists=[mailing_list()])
    response = client.post(f"/api/v1/campaigns/{made.pk}/send", **bearer(sender_token))
    assert response.status_code == 202
    assert response.json()["status"] == "sending"
    assert [(entry.action, entry.actor.username) for entry in started(made)] == [("sending", "sam")]


def test_a_time_without_offset_is_in_the_organisation_time_zone(client, sender_token, settings):
    made = campaign(lists=[mailing_list()])
    local = datetime.now(ZoneInfo(settings.TIME_ZONE)).replace(microsecond=0, tzinfo=None) + timedelta(days=2)
    response = post(client, f"/api/v1/campaigns/{made.pk}/send", {"at": local.isoformat()}, sender_token)
    assert response.status_code == 202
    assert response.json()["status"] == "scheduled"
    made.refresh_from_db()
    assert made.scheduled_at == local.replace(tzinfo=ZoneInfo(settings.TIME_ZONE))


def test_a_time_in_the_past_is_a_400(client, sender_token):
    made = campaign(lists=[mailing_list()])
    past = (timezone.now() - timedelta(minutes=5)).isoformat()
    response = post(client, f"/api/v1/campaigns/{made.pk}/send", {"at": past}, sender_token)
    assert response.status_code == 400
    assert "at" in response.json()["errors"]
    assert started(made) == []


@pytest.mark.parametrize("at", ["tomorrow", 1234, "2026-13-45T99:00"])
def test_a_malformed_time_is_a_400(client, sender_token, at):
    made = campaign(lists=[mailing_list()])
    response = post(client, f"/api/v1/campaigns/{made.pk}/send", {"at": at}, sender_token)
    assert response.status_code == 400
    assert "at" in response.json()["errors"]


def test_send_answers_409_with_the_reason_when_approval_is_required(client, sender_token, settings):
    settings.TOCSIN_REQUIRE_APPROVAL = True
    made = campaign(lists=[mailing_list()])
    response = client.post(f"/api/v1/campaigns/{made.pk}/send", **bearer(sender_token))
    assert response.status_code == 409
    assert "approv" in response.json()["detail"].lower()
    assert started(made) == []


def test_after_approval_by_another_person_the_api_can_send(client, writer_token, sender_token, settings):
    settings.TOCSIN_REQUIRE_APPROVAL = True
    mailing_list("mining")
    body = {"kind": "alert", "subject": "Leader detained", "body_markdown": "Call now.", "lists": ["mining"]}
    made = post(client, "/api/v1/campaigns", body, writer_token).json()["id"]
    assert post(client, f"/api/v1/campaigns/{made}/submit", {}, writer_token).status_code == 202
    approved = post(client, f"/api/v1/campaigns/{made}/approve", {}, sender_token)
    assert approved.status_code == 202
    assert approved.json()["status"] == "approved"
    assert post(client, f"/api/v1/campaigns/{made}/send", {}, sender_token).status_code == 202


def test_the_author_cannot_approve_their_own_campaign_through_the_api(client, settings):
    settings.TOCSIN_REQUIRE_APPROVAL = True
    author = staff("sam", SENDER)
    made = campaign(author=author, lists=[mailing_list()], status=Campaign.Status.REVIEW)
    response = post(client, f"/api/v1/campaigns/{made.pk}/approve", {}, token_for(author))
    assert response.status_code == 409
    made.refresh_from_db()
    assert made.status == "review"


def test_pausing_a_draft_is_a_409(client, sender_token):
    made = campaign(lists=[mailing_list()])
    response = client.post(f"/api/v1/campaigns/{made.pk}/pause", **bearer(sender_token))
    assert response.status_code == 409
    assert response.json()["detail"]


def test_pause_resume_cancel_reach_the_lifecycle(client, sender_token):
    made = campaign(lists=[mailing_list()], status=Campaign.Status.SENDING)
    for step in ("pause", "resume", "cancel"):
        assert client.post(f"/api/v1/campaigns/{made.pk}/{step}", **bearer(sender_token)).status_code == 202
    actions = AuditLog.objects.filter(campaign=made).order_by("id").values_list("action", "actor__username")
    assert list(actions) == [("paused", "sam"), ("sending", "sam"), ("cancelled", "sam")]


# --- Through the whole lifecycle ---------------------------------------------------------------------


def test_send_pause_resume_cancel_move_the_campaign_through_the_engine(client, sender_token):
    made = campaign(lists=[mailing_list(people=2)])
    sent = client.post(f"/api/v1/campaigns/{made.pk}/send", **bearer(sender_token))
    assert (sent.status_code, sent.json()["status"]) == (202, "sending")
    assert post(client, f"/api/v1/campaigns/{made.pk}/send", {}, sender_token).status_code == 409
    assert client.post(f"/api/v1/campaigns/{made.pk}/pause", **bearer(sender_token)).json()["status"] == "paused"
    assert client.post(f"/api/v1/campaigns/{made.pk}/pause", **bearer(sender_token)).status_code == 409
    assert client.post(f"/api/v1/campaigns/{made.pk}/resume", **bearer(sender_token)).json()["status"] == "sending"
    cancelled = client.post(f"/api/v1/campaigns/{made.pk}/cancel", **bearer(sender_token))
    assert (cancelled.status_code, cancelled.json()["status"]) == (202, "cancelled")
    assert client.post(f"/api/v1/campaigns/{made.pk}/resume", **bearer(sender_token)).status_code == 409
    actions = list(AuditLog.objects.filter(campaign=made).order_by("id").values_list("action", flat=True))
    assert actions == ["sending", "paused", "sending", "cancelled"]


def test_scheduling_through_the_engine_records_the_time(client, sender_token):
    made = campaign(lists=[mailing_list(people=1)])
    at = (timezone.now() + timedelta(days=3)).replace(microsecond=0)
    response = post(client, f"/api/v1/campaigns/{made.pk}/send", {"at": at.isoformat()}, sender_token)
    assert response.status_code == 202
    made.refresh_from_db()
    assert (made.status, made.scheduled_at) == ("scheduled", at)
    assert response.json()["scheduled_at"] == at.isoformat()
