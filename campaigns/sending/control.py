"""What beat and the workers do to a campaign's send; the queueing behind staff actions.

- ``enqueue_prepare`` / ``enqueue_kick``: put a campaign's work on the queue once
  its status change (``campaigns.lifecycle``, where every status change
  happens) commits.
- ``prepare``: the snapshot and the batches, written in one transaction.
- ``sweep``: run by beat every ``TOCSIN_SEND_SWEEP_SECONDS``. It turns rows
  left in ``sending`` by a dead worker into ``unknown``, re-queues batches
  whose lease lapsed, starts scheduled campaigns whose time has come and
  marks campaigns sent. Killing every process with ``kill -9`` and starting
  them again therefore finishes every send with no manual step.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from campaigns import lifecycle
from campaigns.models import Campaign, Delivery, SendBatch
from campaigns.sending import audience, batching
from outbox.relay import BROKER_ERRORS

logger = logging.getLogger(__name__)

S = Campaign.Status
DS = Delivery.Status


# --- the engine's own steps --------------------------------------------------------------


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
    from campaigns.tasks import prepare_campaign

    queue = queue_for(campaign)
    _queue_after_commit(partial(prepare_campaign.apply_async, args=[campaign.pk], queue=queue))


def enqueue_kick(campaign: Campaign) -> None:
    """After commit: make sure a campaign that is sending again (resumed, re-sent) has work in the queue."""
    _queue_after_commit(partial(kick, campaign.pk))


def queue_for(campaign: Campaign) -> str:
    """Alerts have a queue (and a worker) of their own: kombu's Redis transport has no priorities."""
    return "urgent" if campaign.kind == Campaign.Kind.ALERT else "bulk"


def prepare(campaign_id: int) -> int:
    """Snapshot the audience and cut the batches, once; then start sending them.

    Snapshot and batches are one transaction under the campaign's row lock:
    a worker killed half-way leaves nothing, and the sweeper prepares again.
    """
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
        if campaign.status != S.SENDING or SendBatch.objects.filter(campaign=campaign).exists():
            added = 0
        else:
            added = audience.snapshot(campaign)
            batching.cut_batches(campaign)
    after_batch(campaign_id)
    return added


def kick(campaign_id: int) -> None:
    """Make sure a sending campaign has work in the queue (after resume, by the sweeper)."""
    campaign = Campaign.objects.get(pk=campaign_id)
    if campaign.status != S.SENDING:
        return
    if not SendBatch.objects.filter(campaign=campaign).exists():
        from campaigns.tasks import prepare_campaign

        prepare_campaign.apply_async(args=[campaign.pk], queue=queue_for(campaign))
        return
    after_batch(campaign_id)


def after_batch(campaign_id: int) -> None:
    """Top the window up with waiting batches, and finish the campaign when nothing is left."""
    from campaigns.tasks import enqueue_batch

    campaign = Campaign.objects.get(pk=campaign_id)
    if campaign.status != S.SENDING:
        return
    queue = queue_for(campaign)
    batching.dispatch(campaign, lambda ref: enqueue_batch(ref, queue=queue))
    finish_if_done(campaign)


def finish_if_done(campaign: Campaign) -> bool:
    """Sent only when no delivery is queued (waiting or awaiting retry) or in flight."""
    if campaign.status != S.SENDING or not SendBatch.objects.filter(campaign=campaign).exists():
        if campaign.status == S.SENDING and not Delivery.objects.filter(campaign=campaign).exists():
            # An empty audience: prepared, nothing to send.
            return _mark_sent(campaign)
        return False
    if Delivery.objects.filter(campaign=campaign, status__in=[DS.QUEUED, DS.SENDING]).exists():
        return False
    SendBatch.objects.filter(campaign=campaign, done=False).update(done=True, lease_until=None)
    return _mark_sent(campaign)


def _mark_sent(campaign: Campaign) -> bool:
    return lifecycle.mark_sent(campaign=campaign)


def mark_stale_unknown() -> int:
    """Rows a dead worker left in ``sending``: unknown — shown to staff, never re-sent blindly."""
    cutoff = timezone.now() - timedelta(seconds=settings.TOCSIN_SEND_CLAIM_TIMEOUT)
    recent = timezone.now() - timedelta(days=2)
    campaign_ids = list(
        Campaign.objects.filter(
            Q(status__in=[S.SENDING, S.PAUSED]) | Q(status=S.CANCELLED, finished_at__gte=recent)
        ).values_list("id", flat=True)
    )
    if not campaign_ids:
        return 0
    return Delivery.objects.filter(campaign_id__in=campaign_ids, status=DS.SENDING, claimed_at__lt=cutoff).update(
        status=DS.UNKNOWN, error="the worker stopped while sending this message"
    )


def start_due() -> list[int]:
    """Start every scheduled campaign whose time has come, exactly once even with two beats."""
    started = []
    for campaign in Campaign.objects.filter(status=S.SCHEDULED, scheduled_at__lte=timezone.now()):
        if lifecycle.begin_scheduled(campaign=campaign):
            started.append(campaign.pk)
    return started


def sweep() -> dict[str, int]:
    """The beat-driven safety net; idempotent, cheap when nothing is sending."""
    unknown = mark_stale_unknown()
    requeued = 0
    for campaign in Campaign.objects.filter(status=S.SENDING):
        if not SendBatch.objects.filter(campaign=campaign).exists():
            kick(campaign.pk)  # its prepare task was lost
            continue
        if not SendBatch.objects.filter(campaign=campaign, done=False).exists():
            # Queued rows no batch covers (cannot happen by design; cheap to repair).
            requeued += batching.cut_batches(campaign)
        after_batch(campaign.pk)
    started = start_due()
    return {"unknown": unknown, "recut": requeued, "started": len(started)}
