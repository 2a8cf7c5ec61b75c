"""The Stripe webhook: signed events become gifts once, forged or replayed ones never count."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from django.urls import reverse

from donations.models import Donation
from subscribers.models import Subscriber
from tests.campaigns.engine_helpers import make_campaign, make_list
from tests.donations.helpers import STRIPE_SECRET, checkout_session, started_appeal, stripe_event, stripe_headers

pytestmark = pytest.mark.django_db

URL = "/donations/stripe/webhook/"


@pytest.fixture(autouse=True)
def _secret(settings):  # type: ignore[no-untyped-def]
    settings.STRIPE_WEBHOOK_SECRET = STRIPE_SECRET


def post(client, payload: str, **headers: str):  # type: ignore[no-untyped-def]
    return client.post(URL, payload, content_type="application/json", **(headers or stripe_headers(payload)))


def test_the_url_is_the_documented_one():
    assert reverse("donations:webhook", args=["stripe"]) == URL


def test_a_signed_checkout_records_the_gift_matched_and_attributed(client):
    ana = Subscriber.objects.create(email="ana@example.org", status=Subscriber.Status.CONFIRMED)
    appeal = started_appeal(make_campaign([make_list()]))
    payload = stripe_event(
        "checkout.session.completed", checkout_session(metadata={"tocsin_ref": appeal.attribution_code})
    )

    response = post(client, payload)

    assert response.status_code == 200
    assert response.json() == {"recorded": 1, "duplicates": 0}
    donation = Donation.objects.get()
    assert donation.amount == Decimal("25.50")
    assert donation.currency == "USD"
    assert donation.reference == "pi_test_1"
    assert donation.subscriber == ana
    assert donation.campaign == appeal
    assert donation.provider == "stripe"
    assert donation.source == Donation.Source.WEBHOOK
    assert donation.recurring is False


def test_zero_decimal_currencies_are_not_divided_by_100(client):
    post(client, stripe_event("checkout.session.completed", checkout_session(currency="jpy", amount_total=3000)))
    assert Donation.objects.get().amount == Decimal("3000")


def test_a_replayed_event_answers_200_and_counts_once(client):
    payload = stripe_event("checkout.session.completed", checkout_session())
    assert post(client, payload).status_code == 200

    again = post(client, payload)

    assert again.status_code == 200
    assert again.json() == {"recorded": 0, "duplicates": 1}
    assert Donation.objects.count() == 1


def test_a_bad_signature_is_refused_with_400_and_records_nothing(client):
    payload = stripe_event("checkout.session.completed", checkout_session())

    forged = post(client, payload, **stripe_headers(payload, secret="whsec_someone_else"))
    missing = client.post(URL, payload, content_type="application/json")
    stale = post(client, payload, **stripe_headers(payload, timestamp=int(time.time()) - 3600))
    tampered = post(client, payload.replace("2550", "255000"), **stripe_headers(payload))

    assert [r.status_code for r in (forged, missing, stale, tampered)] == [400, 400, 400, 400]
    assert Donation.objects.count() == 0


def test_without_a_configured_secret_every_event_is_refused(client, settings):
    settings.STRIPE_WEBHOOK_SECRET = ""
    payload = stripe_event("checkout.session.completed", checkout_session())
    assert post(client, payload).status_code == 400
    assert Donation.objects.count() == 0


def test_signed_garbage_gets_a_400_not_a_500(client):
    for payload in [
        "not json",
        "[]",
        '{"type": "checkout.session.completed"}',
        '{"type": "invoice.paid", "data": {"object": {"amount_paid": "x"}}}',
    ]:
        assert post(client, payload).status_code == 400, payload
    payload = stripe_event("checkout.session.completed", checkout_session(currency="xyz"))
    assert post(client, payload).status_code == 400


def test_a_subscription_checkout_is_counted_by_its_invoice_only(client):
    appeal = started_appeal(make_campaign([make_list()]))
    session = checkout_session(mode="subscription", payment_intent=None, subscription="sub_1")
    assert post(client, stripe_event("checkout.session.completed", session)).json() == {"recorded": 0, "duplicates": 0}

    invoice = {
        "id": "in_1",
        "object": "invoice",
        "amount_paid": 1000,
        "currency": "eur",
        "customer_email": "ana@example.org",
        "customer_name": "Ana",
        "billing_reason": "subscription_create",
        "parent": {
            "subscription_details": {"subscription": "sub_1", "metadata": {"tocsin_ref": appeal.attribution_code}}
        },
        "status_transitions": {"paid_at": int(time.time())},
    }
    response = post(client, stripe_event("invoice.paid", invoice, event_id="evt_2"))

    assert response.json() == {"recorded": 1, "duplicates": 0}
    donation = Donation.objects.get()
    assert (donation.amount, donation.currency, donation.recurring) == (Decimal("10.00"), "EUR", True)
    assert donation.reference == "in_1"
    assert donation.campaign == appeal


def test_events_without_gifts_are_acknowledged(client):
    response = post(client, stripe_event("customer.created", {"id": "cus_1", "object": "customer"}))
    assert response.status_code == 200
    unpaid = checkout_session(payment_status="unpaid")
    assert post(client, stripe_event("checkout.session.completed", unpaid)).json()["recorded"] == 0
    assert Donation.objects.count() == 0


def test_an_unknown_provider_is_404_and_get_is_405(client):
    assert client.post("/donations/nosuch/webhook/", "{}", content_type="application/json").status_code == 404
    assert client.get(URL).status_code == 405
