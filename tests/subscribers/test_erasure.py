"""GDPR erasure and access: the person goes, the events and the suppression stay."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from django.core.serializers.json import DjangoJSONEncoder

from campaigns.models import Campaign, Delivery, DeliveryEvent
from subscribers.models import AppendOnlyError, Consent, Subscriber, Suppression, email_hash
from subscribers.services import erase, export_personal_data, is_suppressed, leaving, preferences
from tests.support.factories import make_list, make_subscriber

pytestmark = pytest.mark.django_db


@pytest.fixture
def ana() -> Subscriber:
    return make_subscriber("ana@example.org", lists=[make_list("peru")], name="Ana Quispe")


@pytest.fixture
def staff() -> User:
    return User.objects.create_user("staff", "staff@example.org", "a-long-password-3", is_staff=True)


def test_erasure_replaces_the_address_and_name(ana, staff):
    erase(subscriber=ana, actor=staff)

    ana.refresh_from_db()
    expected = "erased-" + email_hash("ana@example.org")[:12] + "@erased.invalid"
    assert ana.email == expected
    assert ana.name == ""
    assert ana.status == Subscriber.Status.ERASED


def test_erasure_keeps_consent_events_but_not_personal_data(ana, staff):
    erase(subscriber=ana, actor=staff)

    consents = list(ana.consents.all())
    assert [c.action for c in consents] == [Consent.Action.CONFIRM, Consent.Action.ERASE]
    signup = consents[0]
    assert signup.email.endswith("@erased.invalid")
    assert (signup.ip_address, signup.user_agent, signup.page_url, signup.detail) == (None, "", "", "")
    # What was agreed to, and when, is still there as evidence.
    assert signup.wording == "Yes, send me the bulletin."
    assert signup.lists == ["peru"]
    assert consents[1].actor == staff


def test_nothing_in_the_database_still_holds_the_address(ana, staff):
    campaign = Campaign.objects.create(subject="Bulletin")
    delivery = Delivery.objects.create(campaign=campaign, subscriber=ana, status=Delivery.Status.SENT)
    DeliveryEvent.objects.create(
        delivery=delivery, campaign=campaign, kind="opened", event_id="e1", payload={"recipient": "ana@example.org"}
    )

    erase(subscriber=ana, actor=staff)

    dump = json.dumps(
        [
            list(Subscriber.objects.values()),
            list(Consent.objects.values()),
            list(Suppression.objects.values()),
            list(DeliveryEvent.objects.values()),
        ],
        cls=DjangoJSONEncoder,
    )
    assert "ana@example.org" not in dump
    assert "Ana Quispe" not in dump
    assert "203.0.113.7" not in dump


def test_erasure_also_drops_the_name_a_pending_signup_asked_for(ana, staff):
    from subscribers.services import subscribe

    subscribe(email="ana@example.org", name="Ana María Quispe", lists=["peru"], source=Consent.Source.FORM)

    erase(subscriber=ana, actor=staff)

    names = list(Consent.objects.values_list("requested_name", flat=True))
    assert names and not any(names)


def test_the_erased_address_stays_suppressed(ana, staff):
    erase(subscriber=ana, actor=staff)

    assert is_suppressed("ana@example.org")
    assert Suppression.objects.get(email_hash=email_hash("ana@example.org")).reason == "erased"


def test_erasing_twice_is_harmless(ana, staff):
    erase(subscriber=ana, actor=staff)
    erase(subscriber=ana, actor=staff)

    assert ana.consents.filter(action=Consent.Action.ERASE).count() == 1


def test_an_erased_person_cannot_be_unsubscribed_or_changed(ana, staff):
    erase(subscriber=ana, actor=staff)

    with pytest.raises(leaving.SubscriberErased):
        leaving.unsubscribe(subscriber=ana, channel=Consent.Channel.STAFF)
    with pytest.raises(leaving.SubscriberErased):
        preferences.update_preferences(
            subscriber=ana, lists=[], language="en", name="x", tracking_allowed=True, paused_until=None
        )


def test_consent_rows_are_append_only_outside_erasure(ana):
    consent = ana.consents.get()
    consent.detail = "rewritten"
    with pytest.raises(AppendOnlyError):
        consent.save()
    with pytest.raises(AppendOnlyError):
        Consent.objects.filter(subscriber=ana).update(detail="x")


def test_access_export_holds_profile_subscriptions_consents_and_deliveries(ana):
    campaign = Campaign.objects.create(subject="Alert: Cajamarca")
    delivery = Delivery.objects.create(campaign=campaign, subscriber=ana, status=Delivery.Status.SENT)
    DeliveryEvent.objects.create(delivery=delivery, campaign=campaign, kind="clicked", event_id="e2")

    data = export_personal_data(ana)

    json.dumps(data)  # ready to download as is
    assert data["profile"]["email"] == "ana@example.org"
    assert data["profile"]["name"] == "Ana Quispe"
    assert data["subscriptions"][0]["list"] == "peru"
    assert data["consents"][0]["wording"] == "Yes, send me the bulletin."
    assert data["consents"][0]["ip_address"] == "203.0.113.7"
    assert data["deliveries"][0]["subject"] == "Alert: Cajamarca"
    assert data["deliveries"][0]["events"][0]["kind"] == "clicked"


def test_erasure_keeps_gifts_but_not_the_donor(ana, staff):
    from donations.models import Donation

    linked = Donation.objects.create(
        amount="25.00", currency="USD", donor_email="ana@example.org", donor_name="Ana Quispe", reference="ch_1"
    )
    other = Donation.objects.create(
        amount="10.00", currency="USD", donor_email="ben@example.org", donor_name="Ben", reference="ch_2"
    )

    assert export_personal_data(ana)["donations"][0]["amount"] == "25.00"
    erase(subscriber=ana, actor=staff)

    linked.refresh_from_db()
    other.refresh_from_db()
    assert linked.donor_email.endswith("@erased.invalid")
    assert linked.donor_name == ""
    assert str(linked.amount) == "25.00"
    assert other.donor_email == "ben@example.org"
