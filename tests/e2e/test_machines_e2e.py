"""Two worker machines send one campaign; one loses power halfway; nobody gets it twice, and it finishes.

Each machine is `make worker` (scripts/worker.py) under a host name of its own,
with its own SMTP server (each machine sends through its own EMAIL_URL). A
real beat runs on the "web machine" (this test). Machine A is killed with
SIGKILL, every process of it at once, while both machines are sending; the
rest finishes with no step by hand: beat's sweeper finds A's lapsed batch
leases and machine B sends what is left.
"""

from __future__ import annotations

from collections import Counter

import pytest
import redis
from django.conf import settings

from campaigns import lifecycle
from campaigns.models import Campaign, Delivery
from config import health
from tests.support.factories import make_campaign, make_list, make_people
from tests.support.machines import pull_the_plug, record_migrations_as_applied, start_machine
from tests.support.smtp import CountingHandler, smtp_on_localhost
from tests.support.waiting import wait_until
from tests.support.workers import FAST_RECOVERY, start_beat, stop

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

POOL = 2  # pool processes of each machine's default/bulk worker: one SMTP connection each


def status_of(campaign: Campaign) -> str:
    return Campaign.objects.values_list("status", flat=True).get(pk=campaign.pk)


def test_a_machine_killed_mid_send_leaves_no_duplicate_and_the_other_finishes_by_itself(tmp_path):
    record_migrations_as_applied()
    broker = redis.Redis.from_url(settings.REDIS_URL)
    broker.flushdb()
    peru = make_list()
    people = make_people(3000, peru)
    campaign = make_campaign([peru])
    fast = {**FAST_RECOVERY, "TOCSIN_SEND_SWEEP_SECONDS": "2", "WORKER_CONCURRENCY": str(POOL)}
    at_a, at_b = CountingHandler(delay=0.005), CountingHandler(delay=0.005)
    with smtp_on_localhost(at_a) as smtp_a, smtp_on_localhost(at_b) as smtp_b:
        machine_a = start_machine("machine-a", smtp_a, **fast)
        machine_b = start_machine("machine-b", smtp_b, **fast)
        beat = start_beat(smtp_b, tmp_path / "beat", **fast)
        try:
            nodes = {member.decode() for member in broker.zrange(health.HEARTBEAT_KEY, 0, -1)}
            pid_a, pid_b = machine_a.process.pid, machine_b.process.pid
            assert {f"default-bulk-{pid_a}@machine-a", f"urgent-{pid_a}@machine-a"} <= nodes
            assert {f"default-bulk-{pid_b}@machine-b", f"urgent-{pid_b}@machine-b"} <= nodes

            lifecycle.start(campaign=campaign, actor=None)
            wait_until(lambda: at_a.total >= 200 and at_b.total >= 200, timeout=90, message="both machines sending")
            pull_the_plug(machine_a)
            b_at_kill = at_b.total
            assert at_a.total + b_at_kill < len(people), "the send finished before the kill: make it slower"

            wait_until(lambda: status_of(campaign) == Campaign.Status.SENT, timeout=240, message="the campaign ending")
        finally:
            stop(beat)
            machine_b.stop()
            machine_a.stop()

    received = at_a.received + at_b.received
    assert {email: n for email, n in received.items() if n > 1} == {}
    assert at_b.total > b_at_kill, "machine B sent nothing after the kill"
    ledger = Counter(Delivery.objects.filter(campaign=campaign).values_list("status", flat=True))
    assert set(ledger) <= {Delivery.Status.SENT, Delivery.Status.UNKNOWN}
    # Only what was inside an SMTP conversation of machine A when it died is in doubt.
    assert ledger[Delivery.Status.UNKNOWN] <= POOL
    sent = set(
        Delivery.objects.filter(campaign=campaign, status=Delivery.Status.SENT).values_list(
            "subscriber__email", flat=True
        )
    )
    assert all(received[email] == 1 for email in sent)
    assert len(received) >= len(people) - POOL
