"""What staff and the API see as a campaign's progress around the moment it starts."""

from __future__ import annotations

import pytest

from campaigns import lifecycle, tasks
from campaigns.lifecycle import transition
from campaigns.models import Campaign
from tests.support.factories import make_list, make_people


@pytest.mark.django_db
def test_a_campaign_just_started_shows_its_audience_before_the_snapshot_is_taken():
    peru = make_list("peru")
    make_people(3, peru)
    campaign = Campaign.objects.create(subject="Alert", kind=Campaign.Kind.ALERT)
    campaign.lists.add(peru)
    transition(campaign, Campaign.Status.SENDING)

    counts = lifecycle.campaign_counts(campaign)

    assert counts["recipients"] == 3
    assert counts["pending"] == 3
    assert counts["sent"] == 0


@pytest.mark.django_db
def test_after_the_snapshot_the_counts_come_from_the_ledger(monkeypatch):
    # What the engine hands to Celery is dropped here, not published to Redis.
    monkeypatch.setattr("campaigns.tasks.enqueue_batch", lambda ref, *, queue, countdown=None: None)
    peru = make_list("peru")
    make_people(3, peru)
    campaign = Campaign.objects.create(subject="Alert", kind=Campaign.Kind.ALERT)
    campaign.lists.add(peru)
    transition(campaign, Campaign.Status.SENDING)
    tasks.prepare(campaign.pk)
    make_people(2, peru, prefix="late")  # later sign-ups do not join a running send

    counts = lifecycle.campaign_counts(campaign)

    assert counts["recipients"] == 3
    assert counts["pending"] == 3
