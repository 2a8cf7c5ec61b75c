"""/metrics while the broker is down: still an answer, saying so; webhooks still handled (config/metrics.py)."""

from __future__ import annotations

import base64
import json

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from tests.support.outages import own_redis

pytestmark = pytest.mark.django_db

TOKEN = "t" * 40


@pytest.fixture
def stopped_broker(tmp_path, settings):
    with own_redis(tmp_path / "redis") as server:
        settings.CELERY_BROKER_URL = server.url
        settings.TOCSIN_METRICS_TOKEN = TOKEN
        server.stop()
        yield server


def scrape(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def test_with_the_broker_down_metrics_answer_and_name_it(client, stopped_broker):
    found = scrape(client)

    assert found[("tocsin_up", (("component", "broker"),))] == 0
    assert found[("tocsin_up", (("component", "database"),))] == 1
    assert found[("tocsin_sends_total", (("outcome", "sent"),))] == 0
    assert not any(name == "tocsin_queue_depth" for name, _labels in found)


def test_with_the_broker_down_provider_webhooks_still_answer_200(client, stopped_broker, settings):
    """The lag metric cannot reach Redis: the event is handled all the same (a 5xx would make Postmark retry)."""
    credentials = base64.b64encode(settings.WEBHOOK_SECRET.encode()).decode()
    body = {"RecordType": "Delivery", "MessageID": "not-ours", "Recipient": "a@example.org",
            "DeliveredAt": timezone.now().isoformat(), "Details": "ok", "ServerID": 1, "Tag": ""}  # fmt: skip
    response = client.post(
        "/anymail/postmark/tracking/", json.dumps(body), content_type="application/json",
        HTTP_AUTHORIZATION=f"Basic {credentials}",
    )  # fmt: skip

    assert response.status_code == 200
