"""Each event of the lower apps writes one delivery per endpoint that subscribes to it."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from actions.services import sign
from campaigns import lifecycle
from campaigns.models import Campaign
from donations.services import record_donation
from integrations.models import WebhookDelivery
from subscribers.models import MailingList, Subscriber, Suppression
from subscribers.services import erase, subscribe, suppress, unsubscribe, update_preferences
from tests.support.factories import campaign, petition
from tests.support.factories.integrations import make_endpoint

pytestmark = pytest.mark.django_db


def events() -> list[dict]:
    return [json.loads(d.body) for d in WebhookDelivery.objects.order_by("id")]


def of_type(name: str) -> list[dict]:
    return [message["data"] for message in events() if message["type"] == name]


@pytest.fixture
def news():  # type: ignore[no-untyped-def]
    return MailingList.objects.create(slug="news", name="News")


@pytest.fixture
def ana(news):  # type: ignore[no-untyped-def]
    result = subscribe(email="ana@example.org", name="Ana", lists=[news], source="api", double_opt_in=False)
    return result.subscriber


@pytest.fixture(autouse=True)
def crm(db):  # type: ignore[no-untyped-def]
    return make_endpoint("http://127.0.0.1:9/crm")


def test_confirmed(ana):
    [data] = of_type("subscriber.confirmed")
    assert data["id"] == ana.pk and data["email"] == "ana@example.org" and data["status"] == "confirmed"
    # Confirming again (already confirmed) is no new event.
    subscribe(email="ana@example.org", lists=["news"], source="api", double_opt_in=False)
    assert len(of_type("subscriber.confirmed")) == 1


def test_updated(ana, news):
    update_preferences(
        subscriber=ana, lists=[news], language="es", name="Ana", tracking_allowed=True, paused_until=None
    )
    [data] = of_type("subscriber.updated")
    assert data["language"] == "es" and data["changes"] == ["language en→es"]


def test_unsubscribed_once(ana):
    unsubscribe(subscriber=ana, channel="page")
    unsubscribe(subscriber=ana, channel="page")
    [data] = of_type("subscriber.unsubscribed")
    assert data["id"] == ana.pk and data["status"] == "unsubscribed" and data["channel"] == "page"


@pytest.mark.parametrize(
    ("reason", "event"),
    [
        (Suppression.Reason.BOUNCED, "subscriber.bounced"),
        (Suppression.Reason.COMPLAINED, "subscriber.complained"),
        (Suppression.Reason.STAFF, "subscriber.unsubscribed"),
    ],
)
def test_bounced_and_complained(ana, reason, event):
    suppress(email="ana@example.org", reason=reason, detail="550 no such user")
    suppress(email="ana@example.org", reason=reason, detail="550 no such user")
    [data] = of_type(event)
    assert data["email"] == "ana@example.org" and data["reason"] == reason


def test_erased_sends_only_the_id_and_forgets_the_address_everywhere(ana):
    erase(subscriber=ana, actor=None)

    [data] = of_type("subscriber.erased")
    assert data == {"id": ana.pk}
    assert not WebhookDelivery.objects.filter(body__icontains="ana@example.org").exists()
    assert not WebhookDelivery.objects.filter(body__icontains='"Ana"').exists()
    [confirmed] = of_type("subscriber.confirmed")
    assert confirmed["id"] == ana.pk and confirmed["status"] == "confirmed"


def test_donation_received_once_per_reference():
    for _ in range(2):
        record_donation(
            email="don@example.org",
            amount="25.00",
            currency="USD",
            donated_at=timezone.now(),
            reference="ch_1",
            source="webhook",
        )
    [data] = of_type("donation.received")
    assert data["email"] == "don@example.org" and Decimal(data["amount"]) == Decimal("25")
    assert data["currency"] == "USD" and data["reference"] == "ch_1"


def test_action_signed_once():
    action = petition()
    sign(action=action, email="sol@example.org", name="Sol")
    sign(action=action, email="sol@example.org", name="Sol")
    [data] = of_type("action.signed")
    assert data["email"] == "sol@example.org" and data["action"]["slug"] == action.slug


def test_campaign_sent():
    draft = campaign()
    Campaign.objects.filter(pk=draft.pk).update(status=Campaign.Status.SENDING)
    assert lifecycle.mark_sent(campaign=draft)
    [data] = of_type("campaign.sent")
    assert data["id"] == draft.pk and data["counts"]["recipients"] == 0 and "email" not in data


def test_only_subscribed_active_endpoints_get_a_delivery(crm, news):
    just_donations = make_endpoint("http://127.0.0.1:9/donations", events=["donation.received"])
    make_endpoint("http://127.0.0.1:9/off", active=False)

    subscribe(email="bo@example.org", lists=[news], source="api", double_opt_in=False)

    assert list(WebhookDelivery.objects.values_list("endpoint_id", flat=True)) == [crm.pk]
    assert just_donations.deliveries.count() == 0


def test_a_csv_import_sends_nothing(news, tmp_path):
    # Thousands of people at once: the CRM is usually where the file came from.
    path = tmp_path / "people.csv"
    path.write_text("email,name,consent_source,consent_date\nimp@example.org,Imp,fair,2026-01-01\n")
    call_command("import_subscribers", str(path), "--list", "news")
    assert Subscriber.objects.filter(email="imp@example.org").exists()
    assert WebhookDelivery.objects.count() == 0
