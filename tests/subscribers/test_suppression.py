"""Unsubscribed, bounced and complained addresses stay suppressed, across lists and streams."""

from __future__ import annotations

import pytest

from campaigns.models import Campaign, Delivery
from subscribers.models import Consent, Subscriber, Suppression, email_hash
from subscribers.services import (
    is_suppressed,
    lift_suppression,
    suppress,
    unsubscribe,
)
from tests.support.factories import active_slugs, make_list, make_subscriber

pytestmark = pytest.mark.django_db


@pytest.fixture
def ana() -> Subscriber:
    return make_subscriber("ana@example.org", lists=[make_list("peru"), make_list("canada")])


@pytest.mark.parametrize(
    ("reason", "status", "channel"),
    [
        ("bounced", Subscriber.Status.BOUNCED, Consent.Channel.BOUNCE),
        ("rejected", Subscriber.Status.BOUNCED, Consent.Channel.BOUNCE),
        ("complained", Subscriber.Status.COMPLAINED, Consent.Channel.COMPLAINT),
        ("staff", Subscriber.Status.UNSUBSCRIBED, Consent.Channel.STAFF),
    ],
)
def test_suppressing_a_subscriber_changes_their_status_and_records_it(ana, reason, status, channel):
    suppress(email="ANA@example.org ", reason=reason, detail="550 mailbox unavailable")

    ana.refresh_from_db()
    assert ana.status == status
    assert is_suppressed("ana@example.org")
    consent = ana.consents.get(action=Consent.Action.SUPPRESS)
    assert consent.channel == channel
    assert "550 mailbox unavailable" in consent.detail


def test_an_address_with_no_subscriber_can_be_suppressed():
    suppression = suppress(
        email="stranger@example.net", reason="complained", detail="550 <Stranger@example.net> said spam"
    )

    assert suppression.reason == "complained"
    assert is_suppressed("Stranger@Example.net")
    assert not is_suppressed("someone-else@example.net")
    # Only a hash is stored: the address itself is not kept for a non-subscriber.
    assert suppression.email_hash == email_hash("stranger@example.net")
    assert "stranger" not in str(Suppression.objects.values_list())


def test_suppressing_twice_keeps_one_row_and_one_history_entry(ana):
    suppress(email=ana.email, reason="bounced")
    suppress(email=ana.email, reason="bounced")

    assert Suppression.objects.count() == 1
    assert ana.consents.filter(action=Consent.Action.SUPPRESS).count() == 1


def test_a_complaint_after_a_bounce_is_recorded_but_the_first_reason_stays(ana):
    suppress(email=ana.email, reason="bounced")
    suppress(email=ana.email, reason="complained")

    ana.refresh_from_db()
    assert ana.status == Subscriber.Status.COMPLAINED
    assert Suppression.objects.get().reason == "bounced"
    assert ana.consents.filter(action=Consent.Action.SUPPRESS).count() == 2


def test_unsubscribing_everything_suppresses_across_all_lists(ana):
    unsubscribe(subscriber=ana, channel=Consent.Channel.MAILTO)

    assert is_suppressed(ana.email)
    assert active_slugs(ana) == set()
    assert ana.consents.get(action=Consent.Action.UNSUBSCRIBE).channel == Consent.Channel.MAILTO


def test_leaving_one_list_does_not_suppress_the_address(ana):
    unsubscribe(subscriber=ana, channel=Consent.Channel.PREFERENCES, lists=[ana.lists.get(slug="peru")])

    assert not is_suppressed(ana.email)
    assert active_slugs(ana) == {"canada"}


def test_a_bounce_mid_send_skips_the_remaining_queued_delivery(ana):
    delivery = Delivery.objects.create(
        campaign=Campaign.objects.create(subject="Alert", status=Campaign.Status.SENDING), subscriber=ana
    )

    suppress(email=ana.email, reason="complained")

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SKIPPED


def test_unsubscribing_a_bounced_person_keeps_the_bounce(ana):
    suppress(email=ana.email, reason="bounced")
    unsubscribe(subscriber=ana, channel=Consent.Channel.ONE_CLICK)

    ana.refresh_from_db()
    assert ana.status == Subscriber.Status.BOUNCED
    assert Suppression.objects.get().reason == "bounced"


def test_lifting_is_explicit(ana):
    unsubscribe(subscriber=ana, channel=Consent.Channel.ONE_CLICK)

    assert lift_suppression(email="ana@example.org") is True
    assert not is_suppressed(ana.email)
    assert lift_suppression(email="ana@example.org") is False


def test_a_provider_side_unsubscribe_leaves_every_list(ana):
    suppress(email=ana.email, reason="unsubscribed", detail="unsubscribed at the provider")

    ana.refresh_from_db()
    assert ana.status == Subscriber.Status.UNSUBSCRIBED
    assert active_slugs(ana) == set()
    assert sorted(ana.consents.get(action=Consent.Action.SUPPRESS).lists) == ["canada", "peru"]
