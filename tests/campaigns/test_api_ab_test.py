"""The API's A/B test and frequency cap contract: POST ab_test, GET ab_test and counts.capped, bad input."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import ABTest, Campaign, Delivery
from campaigns.staff.roles import WRITER
from tests.support.factories import mailing_list
from tests.support.personas import bearer, staff, token_for
from tests.support.sending import mail_earlier

pytestmark = pytest.mark.django_db
SUBJECTS = ["The river is ours", "Stop the dam", "Act for the river"]


@pytest.fixture
def token():  # type: ignore[no-untyped-def]
    mailing_list("news", people=4)
    return token_for(staff("wendy", WRITER))


def create(client, token, **fields):  # type: ignore[no-untyped-def]
    body = {"kind": "bulletin", "body_markdown": "Hello", "lists": ["news"], **fields}
    return client.post("/api/v1/campaigns", json.dumps(body), content_type="application/json", **bearer(token))


def test_a_campaign_with_an_ab_test_takes_the_first_subject_as_its_own(client, token):
    response = create(client, token, ab_test={"subjects": SUBJECTS, "sample_percent": 20, "wait_minutes": 60})
    assert response.status_code == 201, response.json()
    campaign = Campaign.objects.get(pk=response.json()["id"])
    assert campaign.subject == SUBJECTS[0]
    test = ABTest.objects.get(campaign=campaign)
    assert (test.subjects, test.sample_percent, test.wait_minutes, test.metric) == (SUBJECTS, 20, 60, "clicks")

    shown = client.get(f"/api/v1/campaigns/{campaign.pk}", **bearer(token)).json()
    assert shown["ab_test"]["winner"] is None
    assert [v["subject"] for v in shown["ab_test"]["variants"]] == SUBJECTS
    assert shown["ab_test"]["variants"][0] == {
        "subject": SUBJECTS[0],
        "sent": 0,
        "opens": 0,
        "clicks": 0,
        "unsubscribes": 0,
        "complaints": 0,
    }
    assert shown["counts"]["capped"] == 0 and shown["counts"]["recipients"] == 4


def test_a_campaign_without_a_test_shows_none(client, token):
    response = create(client, token, subject="Bulletin")
    shown = client.get(f"/api/v1/campaigns/{response.json()['id']}", **bearer(token)).json()
    assert shown["ab_test"] is None


def test_get_shows_the_winner_once_chosen(client, token):
    made = create(client, token, ab_test={"subjects": SUBJECTS[:2], "sample_percent": 50, "wait_minutes": 0})
    campaign = Campaign.objects.get(pk=made.json()["id"])
    ABTest.objects.filter(campaign=campaign).update(winner=2, decided_at=timezone.now())
    people = list(campaign.lists.get().subscriptions.values_list("subscriber_id", flat=True))
    sent = timezone.now() - timedelta(minutes=5)
    Delivery.objects.create(campaign=campaign, subscriber_id=people[0], status="sent", variant=2, sent_at=sent)
    shown = client.get(f"/api/v1/campaigns/{campaign.pk}", **bearer(token)).json()
    assert shown["ab_test"]["winner"] == SUBJECTS[1]
    assert shown["ab_test"]["variants"][1]["sent"] == 1


def test_the_frequency_cap_count_is_in_the_counts(client, token, settings):
    settings.TOCSIN_FREQUENCY_CAP = (1, 24)
    made = create(client, token, subject="Bulletin")
    campaign = Campaign.objects.get(pk=made.json()["id"])
    mail_earlier([campaign.lists.get().subscriptions.first().subscriber], days_ago=0)
    counts = client.get(f"/api/v1/campaigns/{campaign.pk}", **bearer(token)).json()["counts"]
    assert (counts["recipients"], counts["capped"]) == (3, 1)


@pytest.mark.parametrize(
    ("ab", "field"),
    [
        ({"subjects": ["Only one"]}, "ab_test.subjects"),
        ({"subjects": ["a", "b", "c", "d", "e"]}, "ab_test.subjects"),
        ({"subjects": ["Same", "same"]}, "ab_test.subjects"),
        ({"subjects": ["Fine", "  "]}, "ab_test.subjects"),
        ({"subjects": ["Fine", "Line\nbreak"]}, "ab_test.subjects"),
        ({"subjects": ["a", "b"], "sample_percent": 0}, "ab_test.sample_percent"),
        ({"subjects": ["a", "b"], "sample_percent": 100}, "ab_test.sample_percent"),
        ({"subjects": ["a", "b"], "sample_percent": 250}, "ab_test.sample_percent"),
        ({"subjects": ["a", "b"], "sample_percent": "20"}, "ab_test.sample_percent"),
        ({"subjects": ["a", "b"], "wait_minutes": -1}, "ab_test.wait_minutes"),
        ({"subjects": ["a", "b"], "wait_minutes": 10081}, "ab_test.wait_minutes"),
        ({"subjects": ["a", "b"], "metric": "revenue"}, "ab_test.metric"),
        ({"subjects": ["a", "b"], "winner": "a"}, "ab_test.winner"),
        ({}, "ab_test.subjects"),
    ],
)
def test_a_bad_ab_test_is_a_400_naming_the_field_and_nothing_is_stored(client, token, ab, field):
    response = create(client, token, ab_test=ab)
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"], response.json()
    assert not Campaign.objects.exists() and not ABTest.objects.exists()


def test_a_subject_is_required_without_an_ab_test(client, token):
    response = create(client, token)
    assert response.status_code == 400
    assert "subject" in response.json()["errors"]
    assert not Campaign.objects.exists()
