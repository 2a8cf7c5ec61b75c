"""The Stripe webhook: signed events become gifts once, forged or replayed ones never count."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.models import RefusedWebhook
from donations.models import Donation
from subscribers.models import Subscriber
from tests.support.factories import make_campaign, make_list, started_appeal
from tests.support.payloads import STRIPE_SECRET, checkout_session, stripe_event, stripe_headers

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


def refusals() -> list[tuple[str, str, str]]:
    return list(RefusedWebhook.objects.order_by("pk").values_list("provider", "event_id", "reason"))


@pytest.mark.parametrize(
    "payload",
    [
        "not json",
        "[]",
        "[" * 100_000 + "]" * 100_000,
        '{"type": "checkout.session.completed"}',
        '{"id": "evt_x", "type": "invoice.paid", "data": {"object": {"amount_paid": "x"}}}',
        '{"id": "evt_x", "type": "invoice.paid", "data": {"object": {"amount_paid": 1.5, "currency": "usd"}}}',
        stripe_event("checkout.session.completed", checkout_session(currency="xyz")),
        stripe_event("checkout.session.completed", checkout_session(amount_total=10**30)),
        stripe_event("checkout.session.completed", checkout_session(amount_total=-100)),
        stripe_event("checkout.session.completed", checkout_session(payment_intent="pi\x00" + "x" * 300)),
    ],
    ids=[
        "not-json",
        "array",
        "nested-100000-deep",
        "no-object",
        "amount-is-text",
        "amount-is-a-float",
        "unknown-currency",
        "amount-too-large",
        "negative-amount",
        "reference-with-nul",
    ],
)
def test_a_signed_event_that_can_never_be_recorded_is_acknowledged_and_kept_for_staff(client, payload):
    # Stripe retries anything but a 2xx for three days: a 400 or 500 here would
    # bring the same unusable event back again and again.
    response = post(client, payload)
    replayed = post(client, payload)

    assert response.status_code == 200, response.content
    assert response.json()["recorded"] == 0 and response.json()["refused"]
    assert replayed.status_code == 200
    assert Donation.objects.count() == 0
    [(provider, _event_id, reason)] = refusals()  # the replay added no second row
    assert provider == "stripe" and reason


def test_a_refused_gift_is_recorded_with_its_stripe_event_id_and_why(client):
    payload = stripe_event("checkout.session.completed", checkout_session(currency="xyz"), event_id="evt_bad_currency")

    post(client, payload)

    [(provider, event_id, reason)] = refusals()
    assert (provider, event_id) == ("stripe", "evt_bad_currency")
    assert "currency" in reason


def test_an_address_with_a_line_break_is_never_stored(client):
    session = checkout_session(customer_details={"email": "ana@example.org\r\nBcc: all@example.net", "name": "Ana"})

    response = post(client, stripe_event("checkout.session.completed", session))

    assert response.status_code == 200
    assert not Donation.objects.exists()
    [(_provider, _event_id, reason)] = refusals()
    assert reason.startswith("gift refused: email")


@pytest.mark.parametrize(
    "created", [10**20, 1e20, -1, 0, "2024-01-01", True, 946_684_799], ids=lambda value: repr(value)[:12]
)
def test_an_implausible_event_time_gives_way_to_the_time_of_arrival(client, created):
    event = {"id": "evt_1", "type": "checkout.session.completed", "created": created}
    payload = json.dumps(event | {"data": {"object": checkout_session()}})
    before = timezone.now()

    response = post(client, payload)

    assert response.status_code == 200 and response.json()["recorded"] == 1
    assert before <= Donation.objects.get().donated_at <= timezone.now()


def test_an_invoice_with_an_implausible_payment_time_falls_back_to_the_event_time(client):
    created = timezone.now() - timedelta(days=3)
    invoice = {"id": "in_1", "amount_paid": 1000, "currency": "eur", "status_transitions": {"paid_at": 10**20}}

    post(client, stripe_event("invoice.paid", invoice, created=created))

    assert abs(Donation.objects.get().donated_at - created) < timedelta(seconds=1)


def test_text_the_database_would_refuse_is_cleaned_out_of_names_and_codes(client):
    appeal = started_appeal(make_campaign([make_list()]))
    session = checkout_session(
        customer_details={"email": "ana@example.org", "name": "Ana\ud800 Quispe\x00"},
        metadata={"tocsin_ref": appeal.attribution_code + "\x00"},
    )

    response = post(client, stripe_event("checkout.session.completed", session))

    assert response.status_code == 200 and response.json()["recorded"] == 1
    donation = Donation.objects.get()
    assert donation.donor_name == "Ana Quispe"
    assert donation.campaign == appeal


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
    odd_type = post(client, '{"type": ["invoice.paid"], "data": {"object": {}}}')
    assert odd_type.status_code == 200
    unpaid = checkout_session(payment_status="unpaid")
    assert post(client, stripe_event("checkout.session.completed", unpaid)).json()["recorded"] == 0
    assert Donation.objects.count() == 0


def test_an_unknown_provider_is_404_and_get_is_405(client):
    assert client.post("/donations/nosuch/webhook/", "{}", content_type="application/json").status_code == 404
    assert client.get(URL).status_code == 405
