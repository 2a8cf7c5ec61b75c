"""Audience restricted to people who engaged recently (opened or clicked)."""

from __future__ import annotations

import pytest

from campaigns import tasks
from campaigns.models import Campaign, Delivery, DeliveryEvent
from campaigns.sending import audience
from tests.support.factories import engage, make_list, make_people


@pytest.mark.django_db
def test_only_people_who_opened_or_clicked_within_the_window_are_counted_and_snapshotted(monkeypatch):
    monkeypatch.setattr("campaigns.tasks.enqueue_batch", lambda ref, *, queue, countdown=None: None)
    peru = make_list("peru")
    opener, clicker, stale, silent = make_people(4, peru)
    engage(opener, DeliveryEvent.Kind.OPENED, days_ago=5)
    engage(clicker, DeliveryEvent.Kind.CLICKED, days_ago=20)
    engage(stale, DeliveryEvent.Kind.OPENED, days_ago=200)
    engage(silent, DeliveryEvent.Kind.DELIVERED, days_ago=1)
    campaign = Campaign.objects.create(subject="Re-engagement", engaged_within_days=90)
    campaign.lists.add(peru)

    assert audience.count_audience(campaign) == 2

    campaign.status = Campaign.Status.SENDING
    campaign.save(update_fields=["status"])
    tasks.prepare(campaign.pk)
    snapshotted = set(Delivery.objects.filter(campaign=campaign).values_list("subscriber_id", flat=True))
    assert snapshotted == {opener.pk, clicker.pk}


@pytest.mark.django_db
def test_without_the_filter_everyone_on_the_list_is_counted():
    peru = make_list("peru")
    make_people(4, peru)
    campaign = Campaign.objects.create(subject="Bulletin")
    campaign.lists.add(peru)

    assert audience.count_audience(campaign) == 4
