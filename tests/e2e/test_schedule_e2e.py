"""A scheduled campaign starts by itself, once, even when two beat processes run by mistake."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from campaigns.models import AuditLog, Campaign
from campaigns.sending import control
from tests.campaigns.engine_helpers import make_campaign, make_list, make_people
from tests.e2e.conftest import ROOT, _test_database_url, wait_until
from tests.e2e.engine_helpers import CountingHandler, smtp_on_localhost, start_worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def start_beat(email_url: str, schedule: Path, **extra_env: str) -> subprocess.Popen[bytes]:
    env = {key: value for key, value in os.environ.items() if key not in ("ESP", "CELERY_BROKER_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=_test_database_url(),
        REDIS_URL=settings.REDIS_URL,
        EMAIL_URL=email_url,
        PYTHONUNBUFFERED="1",
    )
    env.update(extra_env)
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "beat", "--schedule", str(schedule), "--loglevel", "INFO"],
        cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip


def stop(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def test_a_scheduled_campaign_is_sent_once_by_the_beat_even_with_two_beats(tmp_path):
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    peru = make_list()
    people = make_people(20, peru)
    campaign = make_campaign([peru])
    control.start(campaign, at=timezone.now() + timedelta(seconds=3))
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SCHEDULED
    handler = CountingHandler(delay=0)
    with smtp_on_localhost(handler) as url:
        worker = start_worker(url, "scheduled")
        beats = [start_beat(url, tmp_path / f"beat-{n}") for n in (1, 2)]
        try:
            wait_until(
                lambda: Campaign.objects.values_list("status", flat=True).get(pk=campaign.pk) == Campaign.Status.SENT,
                timeout=90,
                message="the scheduled campaign being sent",
            )
        finally:
            for beat in beats:
                stop(beat)
            worker.stop()
    assert handler.received == Counter({p.email: 1 for p in people})
    starts = AuditLog.objects.filter(campaign=campaign, action=Campaign.Status.SENDING)
    assert starts.count() == 1
