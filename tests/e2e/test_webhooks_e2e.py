"""Outgoing webhooks through real Celery workers on the Redis broker, to a real HTTP receiver.

At least once: a worker killed with SIGKILL in the middle of a POST leaves
the row pending; once its attempt's lease has passed (moved here by setting
the row's time, not by sleeping), beat's sweep queues it and another worker
sends it again, with the same webhook-id, so the receiver can drop the repeat.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from integrations import tasks
from integrations.models import WebhookDelivery
from subscribers.models import MailingList
from subscribers.services import subscribe
from tests.support import ROOT
from tests.support.factories.integrations import make_endpoint
from tests.support.waiting import wait_until
from tests.support.webhook_receiver import Receiver, Reply, running_receiver
from tests.support.workers import WorkerProcess, worker_database_url

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

S = WebhookDelivery.Status


@pytest.fixture(autouse=True)
def _webhooks_to_localhost(settings, monkeypatch):  # type: ignore[no-untyped-def]
    # Autouse: set before the worker fixture copies the environment.
    monkeypatch.setenv("TOCSIN_WEBHOOK_ALLOW_PRIVATE", "1")
    settings.TOCSIN_WEBHOOK_ALLOW_PRIVATE = True


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


def confirm(email: str) -> None:
    news = MailingList.objects.get_or_create(slug="news", defaults={"name": "News"})[0]
    subscribe(email=email, name="Ana", lists=[news], source="api", double_opt_in=False)


def start_worker(name: str) -> WorkerProcess:
    env = {key: value for key, value in os.environ.items() if key not in ("ESP", "CELERY_BROKER_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=worker_database_url(),
        REDIS_URL=settings.REDIS_URL,
        EMAIL_URL="smtp://127.0.0.1:1",
        SITE_URL=settings.SITE_URL,
        PYTHONUNBUFFERED="1",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "default", "--pool", "prefork",
         "--concurrency", "1", "--hostname", f"{name}-{os.getpid()}@%h", "--without-gossip", "--without-mingle",
         "--loglevel", "INFO"],
        cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    worker = WorkerProcess(process)
    worker.wait_ready()
    return worker


def test_a_confirmed_subscriber_reaches_the_crm_through_a_real_worker(celery_worker_process, receiver):
    endpoint = make_endpoint(receiver.url(), events=["subscriber.confirmed"])

    confirm("ana@example.org")  # the delivery is queued once this commits

    [request] = receiver.wait_for(1)
    message = request.verify(endpoint.secret)
    assert message["type"] == "subscriber.confirmed" and message["data"]["email"] == "ana@example.org"
    wait_until(lambda: WebhookDelivery.objects.filter(status=S.DELIVERED).count() == 1, message="the delivery recorded")


def test_a_failed_attempt_is_retried_by_the_sweep_with_the_same_id(celery_worker_process, receiver):
    endpoint = make_endpoint(receiver.url(), events=["subscriber.confirmed"])
    receiver.answer(Reply(503, "try later"), Reply(200))

    confirm("bo@example.org")
    receiver.wait_for(1)
    wait_until(lambda: WebhookDelivery.objects.filter(attempts=1, last_status_code=503).exists(), message="attempt 1")
    delivery = WebhookDelivery.objects.get()
    assert delivery.next_attempt_at <= timezone.now() + timedelta(seconds=60)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())  # the wait has passed

    tasks.sweep_webhooks.delay()  # what beat runs every TOCSIN_WEBHOOK_SWEEP_SECONDS

    first, second = receiver.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery.message_id
    second.verify(endpoint.secret)
    wait_until(lambda: WebhookDelivery.objects.filter(status=S.DELIVERED, attempts=2).exists(), message="attempt 2")


def test_a_worker_killed_mid_delivery_leaves_the_row_to_be_sent_again(receiver):
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    endpoint = make_endpoint(receiver.url(), events=["subscriber.confirmed"])
    stuck = threading.Event()
    receiver.answer(Reply(200, hold=stuck), Reply(200))
    first_worker = start_worker("doomed")
    try:
        confirm("cy@example.org")
        [request] = receiver.wait_for(1)  # the worker is inside the POST, waiting for the answer
        os.killpg(first_worker.process.pid, signal.SIGKILL)
        first_worker.process.wait(timeout=15)
    finally:
        first_worker.stop()
        stuck.set()

    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (S.PENDING, 1)
    assert delivery.next_attempt_at > timezone.now()  # held by the dead worker's lease
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())  # the lease has passed

    second_worker = start_worker("rescuer")
    try:
        tasks.sweep_webhooks.delay()
        first, again = receiver.wait_for(2)
        wait_until(lambda: WebhookDelivery.objects.filter(status=S.DELIVERED).exists(), message="the resend recorded")
    finally:
        second_worker.stop()
    assert again.headers["webhook-id"] == first.headers["webhook-id"] == request.headers["webhook-id"]
    assert again.body == first.body
    again.verify(endpoint.secret)
    assert WebhookDelivery.objects.get().attempts == 2
