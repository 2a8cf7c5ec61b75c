"""The public POST that signs a petition: a fixed, small number of queries, and one transaction.

Under a campaign's rush this is the busiest write of the site (SPEC: 300
signatures/s on 2 cores, measured by bench/action_bench.py); these tests keep
what the benchmark depends on from creeping back: no SELECT before the
INSERT where the unique constraint does the job, no query per request that
a constraint or a join can answer, and the webhook rows written in the
signature's own transaction.
"""

from __future__ import annotations

import pytest

from actions.models import Signature
from actions.signals import action_signed
from integrations.models import WebhookDelivery
from subscribers.models import Subscriber
from tests.support.factories import petition, riding_map
from tests.support.factories.integrations import make_endpoint

pytestmark = pytest.mark.django_db


def fields(**extra):  # type: ignore[no-untyped-def]
    return {"name": "Lucía Quispe", "email": "lucia@example.org", "postal_code": "K1A 0B1", "website": "", **extra}


def test_a_petition_signature_costs_at_most_six_queries(client, django_assert_max_num_queries):
    riding_map()
    petition()
    # The action, the district, the transaction's two ends, the insert (the
    # subscriber found by the same statement) and whether any webhook wants it.
    with django_assert_max_num_queries(6):
        response = client.post("/act/stop-the-mine/", fields())
    assert response.status_code == 303
    signature = Signature.objects.get()
    assert signature.district is not None and signature.district.code == "90001"


def test_the_signature_is_linked_to_the_subscriber_with_that_address(client):
    petition()
    person = Subscriber.objects.create(email="lucia@example.org", name="Lucía")
    client.post("/act/stop-the-mine/", fields(email="Lucia@Example.org"))
    assert Signature.objects.get().subscriber == person


def test_a_repeat_through_the_page_stores_nothing_new_and_says_so(client):
    petition()
    make_endpoint("http://127.0.0.1:9/crm", events=["action.signed"])
    first = client.post("/act/stop-the-mine/", fields(message="First words."))
    again = client.post("/act/stop-the-mine/", fields(name="Someone Else", message="Other words."))
    assert first.status_code == 303 and again.status_code == 200
    assert "already" in again.content.decode()
    signature = Signature.objects.get()
    assert (signature.name, signature.message) == ("Lucía Quispe", "First words.")
    assert WebhookDelivery.objects.filter(event_type="action.signed").count() == 1


def test_the_signature_and_its_webhook_rows_commit_together(client):
    """A failure while the signature's webhook rows are written leaves no signature behind."""
    petition()

    def broken(**kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("the webhook rows could not be written")

    action_signed.connect(broken, dispatch_uid="test-broken-webhooks")
    client.raise_request_exception = False
    try:
        response = client.post("/act/stop-the-mine/", fields())
    finally:
        action_signed.disconnect(dispatch_uid="test-broken-webhooks")
    assert response.status_code == 500
    assert not Signature.objects.exists()
