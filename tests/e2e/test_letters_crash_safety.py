"""kill -9 a worker in the middle of sending letters: no letter is sent twice, and the rest go after restart.

A real Celery worker sends 1,200 letters over SMTP to a (slightly
slow) aiosmtpd server; the test kills the worker's whole process group with
SIGKILL mid-send, starts a fresh worker, and plays beat by calling the
letters' sweeper. Afterwards: no letter (Message-ID) twice at the server,
every letter sent or ``unknown``, and at most one ``unknown`` per pool
process the kill cut (one letter in flight per SMTP connection).
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
from collections import Counter
from typing import Any

import pytest
import redis

from actions.models import Letter, Signature
from actions.tasks import sweep_letters
from tests.support.factories import letter, riding_map, target
from tests.support.smtp import CountingHandler, smtp_on_localhost
from tests.support.waiting import wait_until
from tests.support.workers import CONCURRENCY, FAST_RECOVERY, start_worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

L = Letter.Status
SIGNERS = 300  # four targets each (the three MPs of the group and a fixed one): 1,200 letters
_LETTER_ID = re.compile(rb"tocsin\.letter\.(\d+)@")


class CountingLetters(CountingHandler):
    """Counts messages per letter (its Message-ID names it), slowly enough to be killed mid-send."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.delay)
        found = _LETTER_ID.search(envelope.original_content or b"")
        with self.lock:
            self.received[found.group(1).decode() if found else "?"] += 1
        return "250 OK"


@pytest.fixture
def slow_smtp():  # type: ignore[no-untyped-def]
    handler = CountingLetters(delay=0.004)
    with smtp_on_localhost(handler) as url:
        yield handler, url


def many_letters() -> int:
    ridings = riding_map()
    action = letter(by_district=False, fixed=[target("Minister of Mines", "minister@gov.example", groups=())])
    signatures = Signature.objects.bulk_create(
        Signature(action=action, email=f"s{n}@example.org", name=f"Signer {n}", postal_code="K1A 0B1")
        for n in range(SIGNERS)
    )
    targets = [*action.targets.all(), ridings["mp_north"], ridings["mp_east"], ridings["mp_west"]]
    made = Letter.objects.bulk_create(
        Letter(action=action, signature=signature, target=target) for signature in signatures for target in targets
    )
    return len(made)


def unfinished() -> bool:
    return Letter.objects.filter(status__in=[L.PENDING, L.SENDING]).exists()


def test_a_worker_killed_mid_send_sends_no_letter_twice_and_the_rest_finish(slow_smtp, settings):
    for key, value in FAST_RECOVERY.items():
        setattr(settings, key, int(value))  # the sweeper runs here, in the test process
    handler, email_url = slow_smtp
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    total = many_letters()

    first = start_worker(email_url, "doomed-letters")
    try:
        sweep_letters()  # queues them all, a hundred per task
        wait_until(lambda: handler.total >= 300, timeout=60, message="the first few hundred letters")
        os.killpg(first.process.pid, signal.SIGKILL)  # parent and pool processes, mid-send
        first.process.wait()
    finally:
        first.stop()
    received_at_kill = handler.total
    assert received_at_kill < total, "every letter went before the kill: make the server slower"

    second = start_worker(email_url, "rescuer-letters")
    try:
        deadline = time.monotonic() + 180
        while unfinished():
            assert time.monotonic() < deadline, "the letters did not finish after the restart:\n" + second.log
            sweep_letters()  # what beat does every 15 s
            time.sleep(1)
    finally:
        second.stop()

    assert {letter_id: n for letter_id, n in handler.received.items() if n > 1} == {}
    statuses = Counter(Letter.objects.values_list("status", flat=True))
    assert set(statuses) <= {L.SENT, L.UNKNOWN}
    assert statuses[L.UNKNOWN] <= CONCURRENCY
    sent = {str(pk) for pk in Letter.objects.filter(status=L.SENT).values_list("pk", flat=True)}
    assert all(handler.received[letter_id] == 1 for letter_id in sent)
    assert sum(handler.received.values()) >= total - CONCURRENCY
