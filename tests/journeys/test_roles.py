"""Staff roles and journeys: writers draft them (paused) and their emails, senders start and pause them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from journeys.models import Journey
from tests.support.factories.subscribers import make_list
from tests.support.journeys import email, steps_of, welcome_journey
from tests.support.personas import sender, verified, writer

pytestmark = pytest.mark.django_db
CHANGELIST = "admin:journeys_journey_changelist"


def paused_journey() -> Journey:
    journey = welcome_journey(make_list(), email("Welcome"))
    Journey.objects.filter(pk=journey.pk).update(status=Journey.Status.PAUSED)
    journey.refresh_from_db()
    return journey


def email_form(subject: str) -> dict:
    return {
        "language": "en",
        "subject": subject,
        "preheader": "",
        "body_markdown": "Hello.",
        "tracking_enabled": "on",
        "translations-TOTAL_FORMS": "0",
        "translations-INITIAL_FORMS": "0",
        "translations-MIN_NUM_FORMS": "0",
        "translations-MAX_NUM_FORMS": "1000",
    }


def status_of(journey: Journey) -> str:
    journey.refresh_from_db()
    return journey.status


def test_a_writer_creates_a_journey_paused_and_cannot_start_it(client):
    as_writer = verified(client, writer())
    peru = make_list()
    add_page = as_writer.get(reverse("admin:journeys_journey_add"))
    assert add_page.status_code == 200
    assert "Paused: a sender starts it once it is ready." in add_page.content.decode()
    response = as_writer.post(
        reverse("admin:journeys_journey_add"),
        {
            "name": "Welcome",
            "status": "active",  # not a field for a writer: ignored
            "trigger": "joined_list",
            "trigger_list": peru.pk,
            "trigger_action": "",
            "inactive_days": "",
            "steps-TOTAL_FORMS": "0",
            "steps-INITIAL_FORMS": "0",
            "steps-MIN_NUM_FORMS": "0",
            "steps-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    journey = Journey.objects.get(name="Welcome")
    assert journey.status == Journey.Status.PAUSED
    changelist = as_writer.get(reverse(CHANGELIST)).content.decode()
    assert "Resume the selected journeys" not in changelist
    as_writer.post(reverse(CHANGELIST), {"action": "resume", "_selected_action": [journey.pk]})
    assert status_of(journey) == Journey.Status.PAUSED


def test_a_writer_edits_a_paused_journeys_email_but_not_a_running_ones(client):
    as_writer = verified(client, writer())
    journey = paused_journey()
    (step,) = steps_of(journey)
    url = reverse("admin:journeys_journeyemail_change", args=[step.campaign_id])
    assert as_writer.post(url, email_form("Welcome aboard")).status_code == 302
    step.campaign.refresh_from_db()
    assert step.campaign.subject == "Welcome aboard"

    Journey.objects.filter(pk=journey.pk).update(status=Journey.Status.ACTIVE)
    assert as_writer.get(url).status_code == 200, "still readable"
    assert as_writer.post(url, email_form("Changed while live")).status_code == 403
    step.campaign.refresh_from_db()
    assert step.campaign.subject == "Welcome aboard"
    journey_page = reverse("admin:journeys_journey_change", args=[journey.pk])
    assert as_writer.post(journey_page, {"name": "Renamed"}).status_code == 403
    assert Journey.objects.get(pk=journey.pk).name != "Renamed"


def test_a_sender_starts_and_pauses_journeys_and_edits_running_emails(client):
    as_sender = verified(client, sender())
    journey = paused_journey()
    as_sender.post(reverse(CHANGELIST), {"action": "resume", "_selected_action": [journey.pk]})
    assert status_of(journey) == Journey.Status.ACTIVE
    (step,) = steps_of(journey)
    url = reverse("admin:journeys_journeyemail_change", args=[step.campaign_id])
    assert as_sender.post(url, email_form("Live edit")).status_code == 302
    as_sender.post(reverse(CHANGELIST), {"action": "pause", "_selected_action": [journey.pk]})
    assert status_of(journey) == Journey.Status.PAUSED
