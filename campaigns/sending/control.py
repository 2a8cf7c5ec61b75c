"""What staff (through ``campaigns.operations``), beat and the workers do to a campaign's send.

- ``start`` / ``pause`` / ``resume`` / ``cancel`` / ``resend_unknown``: staff actions;
  each moves the status through ``campaigns.workflow.transition`` and queues
  work only after the transaction commits.
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
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns import send_blockers
from campaigns.models import AuditLog, Campaign, Delivery, SendBatch
from campaigns.sending import audience, batching
from campaigns.workflow import TransitionNotAllowed, reopen_for_resend, transition
from outbox.relay import BROKER_ERRORS

logger = logging.getLogger(__name__)

S = Campaign.Status
DS = Delivery.Status


class ScheduleInPast(ValueError):
    """A campaign cannot be scheduled for a time that has passed."""


class NothingToResend(Exception):
    """No delivery of this campaign is in the unknown state."""


count_audience = audience.count_audience


def campaign_counts(campaign: Campaign) -> dict[str, int]:
    """Progress in one aggregate query: recipients, sent, failed, unknown, pending, skipped.

    ``recipients`` is the live audience count before sending starts, the
    ledger's size after (SPEC's API shape).
    """
    counts = Delivery.objects.filter(campaign=campaign).aggregate(
        recipients=Count("id"),
        sent=Count("id", filter=Q(status=DS.SENT)),
        failed=Count("id", filter=Q(status=DS.FAILED)),
        unknown=Count("id", filter=Q(status=DS.UNKNOWN)),
        pending=Count("id", filter=Q(status__in=[DS.QUEUED, DS.SENDING])),
        skipped=Count("id", filter=Q(status=DS.SKIPPED)),
    )
    result = {key: int(value or 0) for key, value in counts.items()}
    if not result["recipients"]:
        waiting = campaign.status in (S.DRAFT, S.REVIEW, S.APPROVED, S.SCHEDULED)
        # Just after "send", before a worker has taken the snapshot, the
        # ledger is empty: show the audience about to receive it, not zero.
        preparing = campaign.status == S.SENDING and not SendBatch.objects.filter(campaign=campaign).exists()
        if waiting or preparing:
            result["recipients"] = count_audience(campaign)
            result["pending"] = result["recipients"] if preparing else 0
    return result


# --- staff actions ---------------------------------------------------------------------


def start(campaign: Campaign, *, actor: Any = None, at: datetime | None = None) -> Campaign:
    """Send now, or at ``at`` (beat's dispatcher starts it within ``TOCSIN_SEND_SWEEP_SECONDS``)."""
    if at is not None:
        if timezone.is_naive(at):
            at = timezone.make_aware(at)
        if at <= timezone.now():
            raise ScheduleInPast(_("That time is in the past."))
        with transaction.atomic():
            locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
            Campaign.objects.filter(pk=campaign.pk).update(scheduled_at=at)
            if locked.status == S.SCHEDULED:
                AuditLog.objects.create(
                    actor=_actor(actor), action="rescheduled", campaign=locked, detail=at.isoformat()
                )
            else:
                transition(locked, S.SCHEDULED, actor=actor, reason=f"for {at.isoformat()}")
        campaign.refresh_from_db()
        return campaign
    with transaction.atomic():
        transition(campaign, S.SENDING, actor=actor)
        _enqueue_prepare(campaign)
    return campaign


def pause(campaign: Campaign, *, actor: Any = None, reason: str = "") -> Campaign:
    """Stop sending within a second or two; the message in flight on each connection still lands."""
    return transition(campaign, S.PAUSED, actor=actor, reason=reason or _("Paused by staff."))


def resume(campaign: Campaign, *, actor: Any = None, reason: str = "") -> Campaign:
    with transaction.atomic():
        transition(campaign, S.SENDING, actor=actor, reason=reason)
        _queue_after_commit(partial(kick, campaign.pk))
    return campaign


def cancel(campaign: Campaign, *, actor: Any = None, reason: str = "") -> Campaign:
    """Stop for good; deliveries not yet sent stay ``queued`` (never sent) in the ledger."""
    return transition(campaign, S.CANCELLED, actor=actor, reason=reason or _("Cancelled by staff."))


def resend_unknown(campaign: Campaign, *, actor: Any = None) -> Campaign:
    """Staff decided: send again to the recipients a dead worker left in doubt (they may get it twice)."""
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        ids = list(Delivery.objects.filter(campaign=locked, status=DS.UNKNOWN).values_list("id", flat=True))
        if not ids:
            raise NothingToResend(_("No recipient of this campaign is in doubt."))
        if locked.status == S.SENT:
            reopen_for_resend(locked, actor=actor, reason=_("Re-sending to recipients in doubt."))
        elif locked.status not in (S.SENDING, S.PAUSED):
            raise TransitionNotAllowed(
                _("A campaign that is %(status)s cannot send again.") % {"status": locked.get_status_display().lower()}
            )
        Delivery.objects.filter(pk__in=ids, status=DS.UNKNOWN).update(
            status=DS.QUEUED, claimed_at=None, error="re-sent by staff"
        )
        batching.cut_batches(locked, ids=ids)
        AuditLog.objects.create(actor=_actor(actor), action="resend_unknown", campaign=locked, detail=str(len(ids)))
        _queue_after_commit(partial(kick, campaign.pk))
    campaign.refresh_from_db()
    return campaign


def _actor(actor: Any) -> Any:
    return actor if getattr(actor, "pk", None) else None


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


def _enqueue_prepare(campaign: Campaign) -> None:
    from campaigns.tasks import prepare_campaign

    queue = queue_for(campaign)
    _queue_after_commit(partial(prepare_campaign.apply_async, args=[campaign.pk], queue=queue))


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
    try:
        transition(campaign, S.SENT)
    except TransitionNotAllowed:
        return False  # another process finished it first, or staff paused it
    return True


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
        # Edited after it was scheduled: staff fix it and schedule again.
        blocked = send_blockers.blocked_reason(campaign)
        if blocked:
            try:
                reason = f"{_('Not sent at its scheduled time.')} {blocked}"
                transition(campaign, S.DRAFT, reason=reason[:300])
            except TransitionNotAllowed:
                pass
            continue
        try:
            with transaction.atomic():
                transition(campaign, S.SENDING, reason=_("Scheduled send."))
                _enqueue_prepare(campaign)
        except TransitionNotAllowed:
            continue  # the other beat, or staff, got there first
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
