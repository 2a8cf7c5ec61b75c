"""The admin: register an endpoint, send a test event, re-enable, read deliveries, retry now."""

from __future__ import annotations

import pytest
from django.urls import reverse

from campaigns.staff.roles import ADMIN, WRITER
from integrations import delivering, health, recording
from integrations.models import Endpoint, WebhookDelivery
from tests.support.factories.integrations import make_endpoint
from tests.support.personas import staff, verified
from tests.support.webhook_receiver import Reply

pytestmark = pytest.mark.django_db

ADD = reverse("admin:integrations_endpoint_add")
ENDPOINTS = reverse("admin:integrations_endpoint_changelist")
DELIVERIES = reverse("admin:integrations_webhookdelivery_changelist")


@pytest.fixture
def admin_client(client):  # type: ignore[no-untyped-def]
    return verified(client, staff("ada", ADMIN))


def test_staff_register_an_endpoint_and_copy_its_secret_once(admin_client, receiver):
    response = admin_client.post(
        ADD,
        {"url": receiver.url(), "description": "CRM", "events": ["subscriber.confirmed", "donation.received"]},
        follow=True,
    )

    endpoint = Endpoint.objects.get()
    assert endpoint.secret.startswith("whsec_") and endpoint.created_by.username == "ada"
    assert endpoint.events == ["subscriber.confirmed", "donation.received"]
    assert endpoint.secret in response.content.decode()
    page = admin_client.get(reverse("admin:integrations_endpoint_change", args=[endpoint.pk]))
    assert endpoint.secret not in page.content.decode()


def test_a_private_url_is_a_form_error(admin_client, settings):
    settings.TOCSIN_WEBHOOK_ALLOW_PRIVATE = False
    response = admin_client.post(ADD, {"url": "https://10.0.0.8/hook", "events": ["campaign.sent"]})

    assert response.status_code == 200
    assert "private" in response.content.decode()
    assert not Endpoint.objects.exists()


def test_send_a_test_event(admin_client, endpoint, receiver):
    response = admin_client.post(ENDPOINTS, {"action": "send_test_event", "_selected_action": [endpoint.pk]})

    assert response.status_code == 302
    delivery = WebhookDelivery.objects.get(event_type="webhook.test")
    delivering.deliver(delivery.pk)
    message = receiver.wait_for(1)[0].verify(endpoint.secret)
    assert message["type"] == "webhook.test" and message["data"]["sent_by"] == "ada"


def test_a_disabled_endpoint_is_announced_and_re_enabled(admin_client, endpoint):
    health.disable(endpoint, reason="Every delivery failed for 24 hours.")

    page = admin_client.get(ENDPOINTS).content.decode()
    assert "Disabled after failing" in page and "Every delivery failed" in page

    admin_client.post(ENDPOINTS, {"action": "reenable", "_selected_action": [endpoint.pk]})
    endpoint.refresh_from_db()
    assert endpoint.active


def test_deliveries_show_status_attempts_and_the_last_response_and_retry_now(admin_client, endpoint, receiver):
    receiver.answer(Reply(500, "upstream exploded"), Reply(200))
    [delivery] = recording.record("webhook.test", {"id": 1}, endpoints=[endpoint])
    delivering.deliver(delivery.pk)

    listing = admin_client.get(DELIVERIES).content.decode()
    assert "webhook.test" in listing and "500" in listing
    page = admin_client.get(reverse("admin:integrations_webhookdelivery_change", args=[delivery.pk])).content.decode()
    assert "upstream exploded" in page and delivery.message_id in page

    admin_client.post(DELIVERIES, {"action": "retry_now", "_selected_action": [delivery.pk]})
    delivery.refresh_from_db()
    assert delivering.deliver(delivery.pk).ok


def test_a_writer_cannot_see_endpoints(client):
    verified(client, staff("wes", WRITER))
    make_endpoint("https://93.184.215.14/x")
    assert client.get(ENDPOINTS).status_code == 403
