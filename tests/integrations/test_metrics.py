"""/metrics shows how far behind outgoing webhooks are."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from integrations import health, recording
from integrations.models import WebhookDelivery

pytestmark = pytest.mark.django_db

TOKEN = "m" * 40


def scrape(client, settings) -> dict[str, float]:  # type: ignore[no-untyped-def]
    settings.TOCSIN_METRICS_TOKEN = TOKEN
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
        if "webhook" in sample.name
    }


def test_the_outgoing_lag_is_the_age_of_the_oldest_waiting_delivery(client, settings, endpoint):
    assert scrape(client, settings)["tocsin_outgoing_webhook_lag_seconds"] == 0
    old, _new = (recording.record("webhook.test", {"id": n}, endpoints=[endpoint])[0] for n in (1, 2))
    WebhookDelivery.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(minutes=10))

    found = scrape(client, settings)
    assert found["tocsin_outgoing_webhooks_pending"] == 2
    assert 600 <= found["tocsin_outgoing_webhook_lag_seconds"] < 660
    assert found["tocsin_webhook_endpoints_disabled"] == 0

    health.disable(endpoint, reason="down")  # its waiting deliveries are failed
    found = scrape(client, settings)
    assert found["tocsin_outgoing_webhooks_pending"] == 0
    assert found["tocsin_outgoing_webhook_lag_seconds"] == 0
    assert found["tocsin_webhook_endpoints_disabled"] == 1
