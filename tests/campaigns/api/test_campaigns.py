"""The JSON API's campaigns as a client sees it: drafts, audience, sending, scheduling, approval, lifecycle."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from campaigns.models import AuditLog, Campaign
from tests.support.factories import campaign, mailing_list
from tests.support.personas import api_post as post
from tests.support.personas import bearer, sender, token_for

pytestmark = pytest.mark.django_db


def started(made: Campaign) -> list[AuditLog]:
    """The sends and schedules the lifecycle recorded for ``made`` (nothing reaches a worker in these tests)."""
    return list(AuditLog.objects.filter(campaign=made, action__in=["sending", "scheduled"]).select_related("actor"))


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
    from tests.support.factories import engage, make_list, make_people

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
    author = sender()
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
