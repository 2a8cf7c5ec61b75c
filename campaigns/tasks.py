"""Thin Celery tasks: take ids, call a step of the pipeline, own only retries.

Send tasks are ``acks_late`` with ``reject_on_worker_lost`` (a killed worker's
batch goes back to the broker) and idempotent (the ledger, not the broker,
says what was sent), so a redelivered or duplicated task sends nothing twice.
They never rely on Redis's visibility timeout: the beat sweeper re-queues
whatever a dead worker held, from the database.
"""

from __future__ import annotations

import logging

from celery import shared_task

from campaigns.sending import control, engine
from campaigns.sending.batching import BatchRef

logger = logging.getLogger(__name__)

_SEND_OPTIONS = {"acks_late": True, "reject_on_worker_lost": True, "ignore_result": True}


def enqueue_batch(ref: BatchRef, *, queue: str, countdown: float | None = None) -> None:
    send_batch.apply_async(
        args=[ref.campaign_id, ref.first_id, ref.last_id],
        kwargs={"lease": ref.lease},
        queue=queue,
        countdown=countdown,
    )


@shared_task(**_SEND_OPTIONS)
def prepare_campaign(campaign_id: int) -> int:
    return control.prepare(campaign_id)


@shared_task(**_SEND_OPTIONS)
def send_batch(campaign_id: int, first_id: int, last_id: int, lease: str | None = None) -> dict[str, int | str]:
    result = engine.run_batch(campaign_id, first_id, last_id, lease=lease)
    if result.retry_error:
        retry = engine.after_transient(result, campaign_id=campaign_id)
        if retry is not None:
            delay, token = retry
            from campaigns.models import Campaign

            queue = control.queue_for(Campaign.objects.get(pk=campaign_id))
            logger.warning(
                "campaign %s batch %s: retrying in %.0fs: %s", campaign_id, first_id, delay, result.retry_error
            )
            # A short countdown: the task waits in the worker's memory far less
            # than Redis's visibility timeout; if it is lost, the lease lapses and
            # the sweeper re-queues the batch.
            enqueue_batch(BatchRef(campaign_id, first_id, last_id, token), queue=queue, countdown=delay)
    elif result.stopped == engine.YIELD:
        token = engine.step_aside(result)
        if token:
            from campaigns.models import Campaign

            queue = control.queue_for(Campaign.objects.get(pk=campaign_id))
            enqueue_batch(BatchRef(campaign_id, first_id, last_id, token), queue=queue, countdown=engine.YIELD_SECONDS)
    elif result.ran:
        control.after_batch(campaign_id)
    return {"sent": result.sent, "failed": result.failed, "skipped": result.skipped, "stopped": result.stopped}


@shared_task(ignore_result=True, expires=30)
def sweep_sending() -> dict[str, int]:
    return control.sweep()


@shared_task(ignore_result=True, expires=30)
def start_due_campaigns() -> list[int]:
    return control.start_due()
