"""The batch runner: one Celery batch of one campaign, sent by a few sender threads.

``run_batch`` leases the batch (``batching.acquire``: a duplicate task finds
it held and does nothing), starts ``TOCSIN_SEND_THREADS`` senders
(``senders.py``), each with its own transport connection and its own
database connection — HTTP providers answer in 50-300 ms, so one thread
would mostly wait — and releases the lease when they are done. It returns
what happened (``BatchResult``); what follows — the next batches, a retry
after back-off, a pause after N failures in a row, "sent" — is for the
caller to decide (``campaigns/tasks.py``), so the engine never changes a
campaign's status itself.

The guarantees come from the ledger (``ledger.py``), not from here: running
a batch twice, or two copies of it at once, sends nothing twice.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connections

from campaigns.models import Campaign
from campaigns.sending import batching, frequency, senders, transports
from campaigns.sending.rendering import CampaignRenderer
from campaigns.sending.senders import BatchResult, BatchState
from campaigns.sending.throttle import redis_client
from campaigns.sending.transports import Transport

logger = logging.getLogger(__name__)

YIELD_SECONDS = 2.0  # how long a batch that made room for an alert stays out

# --- rendering, cached per worker process ----------------------------------------------

_renderers: dict[int, tuple[Any, CampaignRenderer]] = {}


def renderer_for(campaign: Campaign) -> CampaignRenderer:
    """Templates compiled and CSS inlined once per campaign version per process, not per batch."""
    cached = _renderers.get(campaign.pk)
    if cached is not None and cached[0] == campaign.updated_at:
        return cached[1]
    if len(_renderers) >= 8:
        _renderers.clear()
    renderer = CampaignRenderer(campaign)
    _renderers[campaign.pk] = (campaign.updated_at, renderer)
    return renderer


# --- one batch -------------------------------------------------------------------------


def run_batch(
    campaign_id: int,
    first_id: int,
    last_id: int,
    *,
    lease: str | None = None,
    transport: Callable[[], Transport] | None = None,
    threads: int | None = None,
) -> BatchResult:
    """Send every still-queued delivery of one batch; safe to run twice or concurrently.

    ``transport`` makes one transport per sender thread; by default the one
    the settings choose (``transports.configured``).
    """
    acquired = batching.acquire(campaign_id=campaign_id, first_id=first_id, last_id=last_id, lease=lease)
    if acquired is None:
        return BatchResult(ran=False, stopped="done or held by another task")
    batch_id, token = acquired
    campaign = Campaign.objects.get(pk=campaign_id)
    if campaign.status != Campaign.Status.SENDING:
        batching.release(batch_id, token, done=False)
        return BatchResult(stopped=str(campaign.status))
    state = BatchState(campaign, renderer_for(campaign), first_id=first_id, last_id=last_id)
    state.batch_id, state.token = batch_id, token
    threads = threads or settings.TOCSIN_SEND_THREADS
    if transport is None:
        transport, per_call = transports.configured()
        if per_call > 1:
            threads = transports.threads_for(per_call, threads)  # every call of the batch in flight at once
    try:
        try:
            if threads <= 1:
                senders.run(state, transport)
            else:
                _threaded(state, threads, transport)
        finally:
            # What the batch sent counts against the frequency cap from now on; noted
            # before the lease goes, so a worker killed first leaves the batch to run again.
            frequency.note_batch(campaign_id, first_id, last_id)
    except BaseException:
        batching.release(batch_id, token, done=False, failed=True)
        raise
    result = state.result
    result.batch_id, result.token = batch_id, token
    if settings.TOCSIN_SEND_STATS and result.stats:
        _publish_stats(campaign_id, result.stats)
    if result.retry_error or result.yielded:
        return result  # after_transient() / step_aside() decide when it comes back, keeping the lease
    batching.release(batch_id, token, done=not result.stopped)
    return result


def _threaded(state: BatchState, threads: int, transport: Callable[[], Transport]) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            senders.run(state, transport)
        except BaseException as exc:  # surfaced below, after every sender stopped
            errors.append(exc)
            state.stop.set()
        finally:
            connections.close_all()  # this thread's own database connection

    workers = [threading.Thread(target=run, name=f"sender-{i}", daemon=True) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if errors:
        raise errors[0]


def _publish_stats(campaign_id: int, stats: dict[str, float]) -> None:
    """Per-stage seconds, summed in Redis across workers (the benchmark reads them)."""
    client = redis_client(settings.REDIS_URL)
    key = f"tocsin:send-stats:{campaign_id}"
    with client.pipeline() as pipe:
        for name, seconds in stats.items():
            pipe.hincrbyfloat(key, name, seconds)
        pipe.expire(key, 86400)
        pipe.execute()


# --- after a batch stopped early ---------------------------------------------------------------


@dataclass(frozen=True)
class Retry:
    """Re-enqueue the batch in ``delay`` seconds with ``lease`` ("" when the lease was lost: nothing to do)."""

    delay: float
    lease: str


@dataclass(frozen=True)
class GiveUp:
    """Too many failures in a row: the caller pauses the campaign with ``reason``."""

    reason: str


def after_transient(result: BatchResult) -> Retry | GiveUp:
    """A transient failure stopped the batch: back off, or give up after N in a row.

    The batch stays leased through the back-off, so the sweeper does not hand
    it out early — and re-queues it if the delayed task is lost.
    """
    if result.sent:
        # Progress since the last failure: this is a new streak, not the same outage.
        batching.SendBatch.objects.filter(pk=result.batch_id).update(failures=0)
    failures = batching.record_failure(result.batch_id)
    if failures >= settings.TOCSIN_SEND_MAX_FAILURES:
        batching.release(result.batch_id, result.token, done=False, failed=True)
        return GiveUp(f"Paused after {failures} failed attempts in a row: {result.retry_error}"[:300])
    delay = backoff(failures)
    return Retry(delay, batching.hold_for_retry(result.batch_id, result.token, seconds=delay))


def step_aside(result: BatchResult) -> str:
    """A batch that yielded to an alert: keep it leased for a moment; the lease for its delayed task."""
    return batching.hold_for_retry(result.batch_id, result.token, seconds=YIELD_SECONDS)


def backoff(failures: int) -> float:
    """Exponential back-off with full jitter, capped far inside Redis's visibility timeout."""
    ceiling = min(settings.TOCSIN_SEND_RETRY_MAX, settings.TOCSIN_SEND_RETRY_BASE * (2 ** max(failures - 1, 0)))
    return random.uniform(ceiling / 2, ceiling)
