"""The audience: counted in one query, snapshotted once into the ledger."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.models import CampaignTranslation, Delivery
from campaigns.sending.audience import count_audience, snapshot
from subscribers.models import Subscriber, Subscription, Suppression, email_hash
from tests.support.factories import make_campaign, make_list, make_people

pytestmark = pytest.mark.django_db


def test_the_audience_is_the_union_of_the_lists_counted_once_per_person():
    peru, chile = make_list("peru"), make_list("chile")
    both = make_people(3, peru, prefix="both")
    for person in both:
        Subscription.objects.create(subscriber=person, mailing_list=chile)
    make_people(2, chile, prefix="chile")
    campaign = make_campaign([peru, chile])

    with CaptureQueriesContext(connection) as queries:
        assert count_audience(campaign) == 5
    assert len([q for q in queries.captured_queries if "COUNT" in q["sql"]]) == 1


def test_it_leaves_out_unconfirmed_unsubscribed_suppressed_and_paused_people():
    peru = make_list()
    make_people(2, peru, prefix="ok")
    make_people(1, peru, prefix="pending", status=Subscriber.Status.PENDING)
    make_people(1, peru, prefix="gone", status=Subscriber.Status.UNSUBSCRIBED)
    [suppressed] = make_people(1, peru, prefix="suppressed")
    Suppression.objects.create(email_hash=email_hash(suppressed.email), reason=Suppression.Reason.BOUNCED)
    make_people(1, peru, prefix="resting", paused_until=timezone.localdate() + timedelta(days=5))
    [left_list] = make_people(1, peru, prefix="leftlist")
    Subscription.objects.filter(subscriber=left_list).update(status=Subscription.Status.UNSUBSCRIBED)
    campaign = make_campaign([peru])

    assert count_audience(campaign) == 2
    assert snapshot(campaign) == 2
    emails = set(Delivery.objects.filter(campaign=campaign).values_list("subscriber__email", flat=True))
    assert emails == {"ok0@example.org", "ok1@example.org"}


def test_languages_and_signup_window_restrict_the_audience():
    peru = make_list()
    make_people(2, peru, prefix="en", language="en")
    make_people(3, peru, prefix="es", language="es")
    campaign = make_campaign([peru], languages=["es"])
    assert count_audience(campaign) == 3

    Subscriber.objects.filter(email="es0@example.org").update(created_at=timezone.now() - timedelta(days=30))
    campaign.signed_up_after = timezone.now() - timedelta(days=7)
    assert count_audience(campaign) == 2


def test_the_snapshot_is_written_once_with_each_recipients_language():
    peru = make_list()
    make_people(2, peru, prefix="es", language="es")
    make_people(2, peru, prefix="fr", language="fr")
    campaign = make_campaign([peru], language="en")
    CampaignTranslation.objects.create(campaign=campaign, language="es", subject="Defensores detenidos")

    assert snapshot(campaign) == 4
    make_people(3, peru, prefix="late")  # signed up after the send started
    assert snapshot(campaign) == 3  # only the newcomers: nobody twice
    languages = dict(Delivery.objects.filter(campaign=campaign).values_list("subscriber__email", "language"))
    assert languages["es0@example.org"] == "es"
    assert languages["fr0@example.org"] == "en"  # no French version: the main language
    assert Delivery.objects.filter(campaign=campaign).count() == 7
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.QUEUED}


def test_a_campaign_without_lists_has_nobody():
    make_people(2, make_list())
    campaign = make_campaign([])
    assert count_audience(campaign) == 0
    assert snapshot(campaign) == 0
