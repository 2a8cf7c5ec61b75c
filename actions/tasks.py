"""Thin Celery tasks for letters to targets: take ids, call a step of ``actions/sending/``, own only retries.

Letters are queued once the signature commits (``queue_letters``) and swept
by beat (``sweep_letters``) for anything left pending: a lost task, a broker
that was down, a back-off or a daily cap that has run out, the day's digests.
Send tasks are ``acks_late`` and idempotent (the ledger, not the broker,
says what was sent), so a redelivered task sends nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from functools import partial

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from actions.ledger import Letter, LetterStatus
from actions.models import Action
from actions.sending import claims, digest, letters
from campaigns.sending.engine import backoff
from outbox.relay import BROKER_ERRORS

logger = logging.getLogger(__name__)

QUEUE = "default"
CHUNK = 100  # letters per task from the sweeper
SWEEP_LIMIT = 20_000  # letters queued per sweep at most: the next sweep takes the rest


def _publish(step: Callable[[], object], on_broker_error: Callable[[], None]) -> None:
    try:
        step()
    except BROKER_ERRORS as error:
        # Not queued: give the lease back so the sweeper queues the rows as soon as the broker answers.
        logger.warning("letters not queued (broker down: %s); the sweeper queues them later", error)
        on_broker_error()


def goes_alone(action: Action, letter: Letter) -> bool:
    """A letter sent as it comes (not kept for the day's digest, nor for delivery by hand)."""
    return letter.status == LetterStatus.PENDING and bool(
        letter.test_to or action.delivery_mode != Action.DeliveryMode.DIGEST
    )


def lease_for_queueing(action: Action, unwritten: list[Letter]) -> None:
    """Before the letters are inserted: those that go alone carry the lease of the task about to be queued."""
    lease = claims.queue_lease()
    for letter in unwritten:
        if goes_alone(action, letter):
            letter.lease_until = lease


def queue_letters(action: Action, written: list[Letter]) -> None:
    """Inside the signing transaction, letters leased by ``lease_for_queueing``: queue them once it commits."""
    ids = [letter.pk for letter in written if goes_alone(action, letter)]
    if not ids:
        return
    step = partial(send_letters.apply_async, args=(ids,), queue=QUEUE)
    transaction.on_commit(partial(_publish, step, partial(claims.release, ids)))


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def send_letters(letter_ids: list[int], failures: int = 0) -> dict[str, int | str]:
    result = letters.deliver(letter_ids)
    if result.retry_ids:
        _retry(result.retry_ids, failures + 1, result.retry_error)
    return result.summary()


def _retry(ids: list[int], failures: int, error: str) -> None:
    if failures >= settings.TOCSIN_SEND_MAX_FAILURES:
        # A long outage: stop holding a task for it; the sweeper tries again after the longest back-off.
        claims.release(ids, not_before=timezone.now() + timedelta(seconds=settings.TOCSIN_SEND_RETRY_MAX))
        logger.error("letters %s…: %d failures in a row, left to the sweeper: %s", ids[0], failures, error)
        return
    delay = backoff(failures)
    claims.hold(ids, seconds=delay)
    logger.warning("letters %s…: retrying in %.0fs: %s", ids[0], delay, error)
    # A short countdown (far below Redis's visibility timeout); if the task is lost, the lease lapses.
    step = partial(send_letters.apply_async, args=(ids,), kwargs={"failures": failures}, queue=QUEUE, countdown=delay)
    _publish(step, partial(claims.release, ids))


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def send_digest(digest_id: int, failures: int = 0) -> str:
    verdict = digest.deliver_digest(digest_id)
    if verdict is None or verdict.outcome != letters.transport.RETRY:
        return verdict.outcome if verdict else "not ours"
    failures += 1
    if failures >= settings.TOCSIN_SEND_MAX_FAILURES:
        digest.release(digest_id, not_before=timezone.now() + timedelta(seconds=settings.TOCSIN_SEND_RETRY_MAX))
        return "left to the sweeper"
    delay = backoff(failures)
    digest.hold(digest_id, seconds=delay)
    step = partial(
        send_digest.apply_async, args=(digest_id,), kwargs={"failures": failures}, queue=QUEUE, countdown=delay
    )
    _publish(step, partial(digest.release, digest_id))
    return "retry"


@shared_task(ignore_result=True, expires=30)
def sweep_letters() -> dict[str, int]:
    """Beat's safety net: unknown after a dead worker, the day's digests, anything pending and due."""
    unknown = claims.mark_stale_unknown()
    built = digest.build_due()
    digests = digest.lease_due()
    for digest_id in digests:
        _publish(partial(send_digest.apply_async, args=(digest_id,), queue=QUEUE), partial(digest.release, digest_id))
    queued = 0
    while queued < SWEEP_LIMIT:
        ids = claims.lease_due_letters(CHUNK)
        if not ids:
            break
        queued += len(ids)
        _publish(partial(send_letters.apply_async, args=(ids,), queue=QUEUE), partial(claims.release, ids))
    return {"unknown": unknown, "digests_built": len(built), "digests_queued": len(digests), "letters_queued": queued}


def retry_failed(*, action: Action, target_id: int | None = None) -> int:
    """Staff's "retry": the failed letters (and digests) of ``action`` pending again, queued once this commits."""
    count = claims.reopen_failed(action_id=action.pk, target_id=target_id)
    if count:
        transaction.on_commit(partial(_publish, sweep_letters.delay, lambda: None))
    return count
