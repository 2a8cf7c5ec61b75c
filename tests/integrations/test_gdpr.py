"""Outgoing webhook deliveries in a person's GDPR access export, and what erasure leaves of them."""

from __future__ import annotations

import json

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.urls import reverse
from django.utils import timezone

from actions.models import Signature
from actions.services import sign
from campaigns.staff.roles import ADMIN
from donations.services import record_donation
from integrations.models import WebhookDelivery
from subscribers.models import MailingList, Subscriber
from subscribers.services import erase, export_personal_data, subscribe
from tests.support.factories import petition
from tests.support.factories.integrations import make_endpoint
from tests.support.personas import staff, verified

pytestmark = pytest.mark.django_db

CRM = "https://sync:hunter2@crm.example.org/hooks/tocsin?token=s3cret#frag"


@pytest.fixture
def crm(db):  # type: ignore[no-untyped-def]
    return make_endpoint(CRM)


@pytest.fixture
def ana(crm):  # type: ignore[no-untyped-def]
    news = MailingList.objects.create(slug="news", name="News")
    person = subscribe(email="ana@example.org", name="Ana", lists=[news], source="api", double_opt_in=False).subscriber
    # A gift from her work address, matched to her by the provider's link, and a petition she signed.
    record_donation(
        email="ana.work@example.net",
        name="Ana Quispe",
        amount="25.00",
        currency="EUR",
        donated_at=timezone.now(),
        reference="ch_ana",
        source="webhook",
        subscriber=person,
    )
    sign(action=petition(), email="ana@example.org", name="Ana Quispe", postal_code="K1A 0B1")
    subscribe(email="bea@example.org", name="Bea", lists=[news], source="api", double_opt_in=False)
    return person


def test_the_access_export_lists_the_webhook_deliveries_about_the_person_without_secrets(ana):
    WebhookDelivery.objects.filter(event_type="subscriber.confirmed", body__contains="ana@").update(
        status=WebhookDelivery.Status.DELIVERED, delivered_at=timezone.now(), last_status_code=200
    )

    export = export_personal_data(ana)

    rows = export["webhook_deliveries"]
    assert sorted(row["event"] for row in rows) == ["action.signed", "donation.received", "subscriber.confirmed"]
    assert {row["endpoint"] for row in rows} == {"https://crm.example.org/hooks/tocsin"}
    confirmed = next(row for row in rows if row["event"] == "subscriber.confirmed")
    assert confirmed["status"] == "delivered" and confirmed["created_at"] and confirmed["delivered_at"]
    text = json.dumps(export, cls=DjangoJSONEncoder)  # the admin serves it as a JSON file
    assert "hunter2" not in text and "s3cret" not in text and "bea@example.org" not in text


def test_erasure_removes_the_person_from_every_kept_delivery_and_keeps_the_rows(ana):
    WebhookDelivery.objects.filter(event_type="donation.received").update(
        status=WebhookDelivery.Status.DELIVERED,
        last_status_code=200,
        last_response='{"ok": true, "contact": "ana.work@example.net"}',
    )
    before = WebhookDelivery.objects.count()

    erase(subscriber=Subscriber.objects.get(pk=ana.pk), actor=None)

    assert WebhookDelivery.objects.count() == before + 1  # + subscriber.erased; no row lost from the counts
    for row in WebhookDelivery.objects.all():
        kept = row.body + row.last_response
        for personal in ("ana@example.org", "ana.work@example.net", "Ana", "K1A 0B1"):
            assert personal not in kept, (row.event_type, kept)
    gift = json.loads(WebhookDelivery.objects.get(event_type="donation.received").body)["data"]
    assert gift["amount"] == "25.00" and gift["subscriber"] == ana.pk
    assert (
        "bea@example.org" in WebhookDelivery.objects.get(event_type="subscriber.confirmed", body__contains="Bea").body
    )
    erased = export_personal_data(Subscriber.objects.get(pk=ana.pk))["webhook_deliveries"]
    assert {row["event"] for row in erased} >= {"donation.received", "subscriber.erased"}


def test_a_signer_erased_from_the_signatures_admin_is_erased_from_the_deliveries_too(crm, client):
    sign(action=petition(), email="cris@example.org", name="Cris Mamani", postal_code="K1A 0B1")
    sign(action=petition(slug="other"), email="dan@example.org", name="Dan")
    verified(client, staff("boss", ADMIN))

    response = client.post(
        reverse("admin:actions_signature_changelist"),
        {"action": "erase_people", "_selected_action": [Signature.objects.get(email="cris@example.org").pk]},
    )

    assert response.status_code == 302
    assert WebhookDelivery.objects.filter(event_type="action.signed").count() == 2
    kept = " ".join(WebhookDelivery.objects.values_list("body", flat=True))
    assert "cris@example.org" not in kept and "Cris" not in kept and "K1A 0B1" not in kept
    assert "dan@example.org" in kept and "Dan" in kept
