"""A scheduled campaign starts by itself, once, with a beat on each of two machines.

Only the beat holding the lock in Redis dispatches (config/beat.py); the
other stands by, and leads once the first is gone, even killed with -9.
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from campaigns import lifecycle
from campaigns.models import AuditLog, Campaign
from tests.support.factories import make_campaign, make_list, make_people
from tests.support.outages import own_redis
from tests.support.smtp import CountingHandler, smtp_on_localhost
from tests.support.waiting import wait_until
from tests.support.workers import start_beat, start_worker, stop

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def dispatches(log: Path) -> int:
    return log.read_text().count("Sending due task")


def schedule_and_wait(campaign: Campaign) -> None:
    lifecycle.start(campaign=campaign, actor=None, at=timezone.now() + timedelta(seconds=2))
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SCHEDULED
    wait_until(
        lambda: Campaign.objects.values_list("status", flat=True).get(pk=campaign.pk) == Campaign.Status.SENT,
        timeout=90,
        message=f"campaign {campaign.pk} being sent",
    )


def test_one_beat_leads_across_machines_and_a_standby_takes_over_when_it_dies(tmp_path):
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    peru = make_list()
    people = make_people(20, peru)
    first, second = make_campaign([peru]), make_campaign([peru], subject="Second alert")
    handler = CountingHandler(delay=0)
    logs = {name: tmp_path / f"{name}.log" for name in ("machine-a", "machine-b")}
    with smtp_on_localhost(handler) as url:
        worker = start_worker(url, "scheduled")
        beats = {
            name: start_beat(url, tmp_path / name, hostname=name, log=log, TOCSIN_BEAT_LOCK_SECONDS="4")
            for name, log in logs.items()
        }
        try:
            wait_until(lambda: all("beat: " in log.read_text() for log in logs.values()), message="both beats")
            schedule_and_wait(first)
            leader = next(name for name, log in logs.items() if dispatches(log))
            standby = next(name for name in logs if name != leader)
            assert dispatches(logs[standby]) == 0, "the standby beat dispatched too"
            assert f"the leader is {leader}:" in logs[standby].read_text()

            os.killpg(beats[leader].pid, signal.SIGKILL)  # no goodbye: its lock must expire
            beats[leader].wait()
            schedule_and_wait(second)
            assert dispatches(logs[standby]) > 0
            assert "leads" in logs[standby].read_text()
        finally:
            for beat in beats.values():
                stop(beat)
            worker.stop()
    assert handler.received == Counter({p.email: 2 for p in people})
    for campaign in (first, second):
        assert AuditLog.objects.filter(campaign=campaign, action=Campaign.Status.SENDING).count() == 1


def test_a_beat_outlives_a_redis_outage_and_dispatches_again_when_it_is_back(tmp_path):
    with own_redis(tmp_path / "redis") as server:
        log = tmp_path / "beat.log"
        beat = start_beat("smtp://127.0.0.1:1", tmp_path / "beat", log=log, REDIS_URL=server.url)
        try:
            wait_until(lambda: dispatches(log) > 0, message="the beat dispatching")
            server.stop()
            wait_until(lambda: "Redis does not answer" in log.read_text(), message="the beat noticing")
            before = dispatches(log)
            server.start()
            wait_until(lambda: dispatches(log) > before, timeout=60, message="the beat dispatching again")
            assert beat.poll() is None, log.read_text()
        finally:
            stop(beat)
