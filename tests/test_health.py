"""/healthz says the web process answers; /readyz says whether Tocsin can work (SPEC: operations).

The broker here is a redis-server of the test's own, really stopped when the
test needs it down; workers are represented by the heartbeat they write.
"""

from __future__ import annotations

import pytest
import redis

from config import health

pytestmark = pytest.mark.django_db


def test_readyz_is_ok_with_the_database_the_broker_and_a_worker_that_beat(client, own_broker):
    health.record_heartbeat("worker@host-1")

    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok", "workers": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_readyz_names_the_workers_when_none_beat_within_a_minute(client, own_broker):
    now, _micro = redis.Redis.from_url(own_broker.url).time()
    redis.Redis.from_url(own_broker.url).zadd(health.HEARTBEAT_KEY, {"worker@gone": now - 61})

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {"database": "ok", "broker": "ok", "workers": "down"}


def test_a_worker_that_shuts_down_stops_counting_at_once(client, own_broker):
    health.record_heartbeat("worker@host-1")
    health.forget_worker("worker@host-1")

    assert client.get("/readyz").json()["workers"] == "down"


def test_with_the_broker_stopped_readyz_says_so_and_healthz_still_answers(client, own_broker):
    health.record_heartbeat("worker@host-1")
    own_broker.stop()

    ready = client.get("/readyz")
    live = client.get("/healthz")

    assert ready.status_code == 503
    assert ready.json() == {"database": "ok", "broker": "down", "workers": "down"}
    assert live.status_code == 200
