"""Rotating an endpoint's signing secret: both secrets sign for a grace period, then only the new one.

Standard Webhooks lets ``webhook-signature`` carry several ``v1,<sig>`` values
separated by spaces; a receiver accepts the message when any one verifies, so
it can switch to the new secret at its own pace during the grace period.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from standardwebhooks.webhooks import WebhookVerificationError

from campaigns.models import AuditLog
from campaigns.staff.roles import ADMIN, SENDER
from integrations import delivering, services
from integrations.models import Endpoint, WebhookDelivery
from tests.support.personas import api_post, staff, token_for, verified

pytestmark = pytest.mark.django_db


def rotate(client, endpoint_id: int, token: str):  # type: ignore[no-untyped-def]
    return api_post(client, f"/api/v1/webhooks/{endpoint_id}/rotate-secret", {}, token)


def send_test(endpoint: Endpoint) -> None:
    delivery = services.send_test(endpoint)
    assert delivering.deliver(delivery.pk) is not None
    assert WebhookDelivery.objects.get(pk=delivery.pk).status == WebhookDelivery.Status.DELIVERED


def test_the_api_returns_the_new_secret_once_and_both_secrets_sign_until_the_grace_period_ends(
    client, endpoint, receiver, settings
):
    settings.TOCSIN_WEBHOOK_SECRET_GRACE_HOURS = 2
    old = endpoint.secret
    token = token_for(staff("ada", ADMIN))

    response = rotate(client, endpoint.pk, token)

    assert response.status_code == 200, response.content
    body = response.json()
    new = body["secret"]
    assert new.startswith("whsec_") and new != old
    assert body["id"] == endpoint.pk and body["previous_secret_valid_until"]
    entry = AuditLog.objects.get(action="webhook-secret-rotated")
    assert entry.actor.username == "ada" and new not in entry.detail and old not in entry.detail
    assert f"#{endpoint.pk} 127.0.0.1:" in entry.detail and "/hooks" not in entry.detail  # the host, not the path
    detail = client.get(f"/api/v1/webhooks/{endpoint.pk}", HTTP_AUTHORIZATION=f"Bearer {token}").content.decode()
    assert new not in detail and old not in detail

    send_test(Endpoint.objects.get(pk=endpoint.pk))
    [during] = receiver.wait_for(1)
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert during.verify(new)["type"] == "webhook.test"
    assert during.verify(old)["type"] == "webhook.test"  # a receiver that has not switched yet

    with time_machine.travel(timezone.now() + timedelta(hours=2, minutes=1), tick=True):
        send_test(Endpoint.objects.get(pk=endpoint.pk))
        after = receiver.wait_for(2)[1]
        assert len(after.headers["webhook-signature"].split(" ")) == 1
        assert after.verify(new)["type"] == "webhook.test"
        with pytest.raises(WebhookVerificationError):
            after.verify(old)


def test_rotating_needs_the_permission_to_change_endpoints(client, endpoint):
    old = endpoint.secret

    assert rotate(client, endpoint.pk, token_for(staff("sam", SENDER))).status_code == 403
    assert rotate(client, 999999, token_for(staff("ada", ADMIN))).status_code == 404
    assert Endpoint.objects.get(pk=endpoint.pk).secret == old


def test_staff_rotate_the_secret_in_the_admin_and_read_the_new_one(client, endpoint, receiver):
    admin_client = verified(client, staff("ada", ADMIN))
    old = endpoint.secret

    response = admin_client.post(
        reverse("admin:integrations_endpoint_changelist"),
        {"action": "rotate_secret", "_selected_action": [endpoint.pk]},
        follow=True,
    )

    rotated = Endpoint.objects.get(pk=endpoint.pk)
    assert rotated.secret != old and rotated.previous_secret == old
    page = response.content.decode()
    assert rotated.secret in page
    assert AuditLog.objects.get(action="webhook-secret-rotated").actor.username == "ada"
    send_test(rotated)
    [request] = receiver.wait_for(1)
    request.verify(rotated.secret)
    request.verify(old)
