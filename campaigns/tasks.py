"""Celery tasks, and the queueing that connects the send pipeline to the campaign's lifecycle.

The layer above both: the pipeline (``campaigns/sending``) says what
happened — a batch ran, failed for now, gave up, nothing is left — and the
lifecycle (``campaigns/lifecycle.py``) makes every status change; this
module calls the one after the other. The lifecycle asks for work through
the ``sending_requested`` signal (``campaigns/signals.py``), connected here
from ``CampaignsConfig.ready()``.

Send tasks are ``acks_late`` with ``reject_on_worker_lost`` (a killed worker's
batch goes back to the broker) and idempotent (the ledger, not the broker,
says what was sent), so a redelivered or duplicated task sends nothing twice.
They never rely on Redis's visibility timeout: the beat sweeper (``sweep``,
every ``TOCSIN_SEND_SWEEP_SECONDS``) turns rows left in ``sending`` by a dead
worker into ``unknown``, re-queues batches whose lease lapsed, starts
scheduled campaigns whose time has come and marks campaigns sent. Killing
every process with ``kill -9`` and starting them again therefore finishes
every send with no manual step. Task names are a contract with beat's
schedule and with tasks already in the broker: they never change.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from campaigns import lifecycle
from campaigns.models import Campaign
from campaigns.sending import ab_test, batching, engine, ledger
from campaigns.sending.batching import BatchRef
from campaigns.sending.senders import BatchResult
from outbox.relay import BROKER_ERRORS

logger = logging.getLogger(__name__)

S = Campaign.Status


# --- queueing --------------------------------------------------------------------------------


def queue_for(campaign: Campaign) -> str:
    """Alerts have a queue (and a worker) of their own: kombu's Redis transport has no priorities."""
    return "urgent" if campaign.kind == Campaign.Kind.ALERT else "bulk"


def enqueue_batch(ref: BatchRef, *, queue: str, countdown: float | None = None) -> None:
    timing: dict[str, Any] = {} if countdown is None else {"countdown": countdown}
    send_batch.apply_async(
        args=(ref.campaign_id, ref.first_id, ref.last_id), kwargs={"lease": ref.lease}, queue=queue, **timing
    )


def _queue_after_commit(step: Callable[[], object]) -> None:
    """Put a campaign's work on the queue once its status change is committed.

    The status row is the durable record of what must happen: with the
    broker down the change stands (the API still answers 202), and beat's
    sweeper queues the work from the database once the broker is back.
    """

    def run() -> None:
        try:
            step()
        except BROKER_ERRORS as error:
            logger.warning("campaign work not queued (broker down: %s); the sweeper queues it later", error)

    transaction.on_commit(run)


def enqueue_prepare(campaign: Campaign) -> None:
    """After commit: snapshot the audience and start sending (a campaign that just became ``sending``)."""
    _queue_after_commit(partial(prepare_campaign.apply_async, args=(campaign.pk,), queue=queue_for(campaign)))


def enqueue_kick(campaign: Campaign) -> None:
    """After commit: make sure a campaign that is sending again (resumed, re-sent) has work in the queue."""
    _queue_after_commit(partial(kick, campaign.pk))


def queue_send_work(sender: Any, *, campaign: Campaign, fresh: bool, **kwargs: Any) -> None:
    """Receiver of ``campaigns.signals.sending_requested``."""
    if fresh:
        enqueue_prepare(campaign)
    else:
        enqueue_kick(campaign)


# --- the steps, connected ----------------------------------------------------------------------


def prepare(campaign_id: int) -> int:
    """Snapshot the audience and cut the batches, once; then start sending them."""
    added = batching.prepare(campaign_id)
    continue_sending(campaign_id)
    return added


def kick(campaign_id: int) -> None:
    """Make sure a sending campaign has work in the queue (after resume, by the sweeper)."""
    campaign = Campaign.objects.get(pk=campaign_id)
    if campaign.status != S.SENDING:
        return
    if not batching.is_prepared(campaign):
        prepare_campaign.apply_async(args=(campaign.pk,), queue=queue_for(campaign))
        return
    continue_sending(campaign_id)


def continue_sending(campaign_id: int) -> None:
    """Top the window up with waiting batches, and mark the campaign sent when nothing is left."""
    campaign = Campaign.objects.get(pk=campaign_id)
    if campaign.status != S.SENDING:
        return
    queue = queue_for(campaign)
    batching.dispatch(campaign, lambda ref: enqueue_batch(ref, queue=queue))
    finish_if_done(campaign)


def finish_if_done(campaign: Campaign) -> bool:
    """Sent only when no delivery is queued (waiting or awaiting retry) or in flight."""
    if campaign.status != S.SENDING or not batching.all_sent(campaign):
        return False
    # An A/B test's sample is out: wait, pause (the circuit breaker), or send the winner to the rest.
    held = ab_test.hold(
        campaign,
        pause=lambda c, reason: lifecycle.pause_by_breaker(campaign=c, reason=reason),
        cut=batching.cut_batches,
    )
    if held == ab_test.RELEASED:
        continue_sending(campaign.pk)
    if held:
        return False
    return lifecycle.mark_sent(campaign=campaign)


def after_batch(result: BatchResult, *, campaign_id: int, first_id: int, last_id: int) -> None:
    """What follows a batch: a retry after back-off, a pause, a short step aside for an alert, or the next batches."""
    if result.retry_error:
        decision = engine.after_transient(result)
        if isinstance(decision, engine.GiveUp):
            lifecycle.pause_after_failures(campaign_id=campaign_id, reason=decision.reason)
            logger.error("campaign %s paused: %s", campaign_id, decision.reason)
        elif decision.lease:
            logger.warning(
                "campaign %s batch %s: retrying in %.0fs: %s", campaign_id, first_id, decision.delay, result.retry_error
            )
            # A short countdown: the task waits in the worker's memory far less
            # than Redis's visibility timeout; if it is lost, the lease lapses and
            # the sweeper re-queues the batch.
            _enqueue_again(BatchRef(campaign_id, first_id, last_id, decision.lease), countdown=decision.delay)
    elif result.yielded:
        lease = engine.step_aside(result)
        if lease:
            _enqueue_again(BatchRef(campaign_id, first_id, last_id, lease), countdown=engine.YIELD_SECONDS)
    elif result.ran:
        continue_sending(campaign_id)


def _enqueue_again(ref: BatchRef, *, countdown: float) -> None:
    enqueue_batch(ref, queue=queue_for(Campaign.objects.get(pk=ref.campaign_id)), countdown=countdown)


def start_due() -> list[int]:
    """Start every scheduled campaign whose time has come, exactly once even with two beats."""
    started = []
    for campaign in Campaign.objects.filter(status=S.SCHEDULED, scheduled_at__lte=timezone.now()):
        if lifecycle.begin_scheduled(campaign=campaign):
            started.append(campaign.pk)
    return started


def sweep() -> dict[str, int]:
    """The beat-driven safety net; idempotent, cheap when nothing is sending."""
    unknown = ledger.mark_stale_unknown()
    recut = 0
    for campaign in Campaign.objects.filter(status=S.SENDING):
        if not batching.is_prepared(campaign):
            kick(campaign.pk)  # its prepare task was lost
            continue
        recut += batching.recut_if_uncovered(campaign)
        continue_sending(campaign.pk)
    started = start_due()
    return {"unknown": unknown, "recut": recut, "started": len(started)}


# --- the tasks (names are a contract: see the module's note) ----------------------------------


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def prepare_campaign(campaign_id: int) -> int:
    return prepare(campaign_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def send_batch(campaign_id: int, first_id: int, last_id: int, lease: str | None = None) -> dict[str, int | str]:
    result = engine.run_batch(campaign_id, first_id, last_id, lease=lease)
    after_batch(result, campaign_id=campaign_id, first_id=first_id, last_id=last_id)
    return {"sent": result.sent, "failed": result.failed, "skipped": result.skipped, "stopped": result.stopped}


@shared_task(ignore_result=True, expires=30)
def sweep_sending() -> dict[str, int]:
    return sweep()


@shared_task(ignore_result=True, expires=30)
def start_due_campaigns() -> list[int]:
    return start_due()


@shared_task(ignore_result=True, autoretry_for=(OSError,), retry_backoff=30, max_retries=5)
def tell_staff(campaign_id: int, about: str, detail: str) -> int:
    from campaigns.staff import notify

    return notify.send_notice(campaign_id=campaign_id, about=about, detail=detail)


@shared_task(ignore_result=True, expires=60)
def poll_bounces() -> dict[str, int]:
    """Read the bounce mailbox (``TOCSIN_BOUNCE_MAILBOX``): on beat only when it is set."""
    from django.conf import settings

    from campaigns.events.bounces.mailbox import poll

    result = poll(settings.TOCSIN_BOUNCE_MAILBOX)
    return {"messages": len(result.outcomes), "recorded": result.count("recorded")}


@shared_task(ignore_result=True, expires=600)
def fold_delivery_counters() -> int:
    """Sum the ledger counters' rows per campaign and status (campaigns/counters.py)."""
    from campaigns.counters import fold

    return fold()


@shared_task(ignore_result=True, expires=600)
def rollup_ledger() -> dict[str, int]:
    """Roll finished campaigns' deliveries up after ``TOCSIN_LEDGER_RETENTION_DAYS`` (campaigns/rollup/)."""
    from campaigns.rollup.rolling import roll_up_due

    return roll_up_due()
