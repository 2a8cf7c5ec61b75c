"""Hand due deliveries to the broker: right after the commit, and from beat's sweep.

Tasks are named, not imported: the task module imports the sending code,
which must not import back. A task that reaches a worker claims its row
before sending (``delivering.deliver``), so a row queued twice (the
after-commit hand-over racing the sweep) is still sent once per attempt.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from integrations.models import WebhookDelivery
from outbox.relay import BROKER_ERRORS

logger = logging.getLogger(__name__)

DELIVER_TASK = "integrations.tasks.deliver_webhook"
# A row handed to the broker is not queued again for this long. A worker
# normally takes it within seconds; this only matters when the task was lost.
QUEUED_SECONDS = 120
SWEEP_LIMIT = 500


def _publish(delivery_id: int) -> None:
    task = current_app.tasks.get(DELIVER_TASK)
    if task is not None:
        task.apply_async(args=(delivery_id,), retry=False)
    else:
        current_app.send_task(DELIVER_TASK, args=(delivery_id,), retry=False)


def hand_over(ids: Sequence[int]) -> int:
    """Queue these rows; at the first broker error, leave the rest due for the sweep. How many were queued."""
    for index, delivery_id in enumerate(ids):
        try:
            _publish(delivery_id)
        except BROKER_ERRORS as error:
            WebhookDelivery.objects.filter(pk__in=ids[index:], status=WebhookDelivery.Status.PENDING).update(
                queued_until=None
            )
            logger.warning("webhooks: the broker refused delivery %s (%s); the sweep will queue it", delivery_id, error)
            return index
    return len(ids)


def sweep(*, limit: int = SWEEP_LIMIT) -> int:
    """Beat's sweep: queue pending rows that are due and not already queued (retries, lost tasks)."""
    now = timezone.now()
    due = WebhookDelivery.objects.filter(
        status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now, endpoint__active=True
    ).exclude(queued_until__gt=now)
    with transaction.atomic():
        # SKIP LOCKED: two sweeps (a beat failing over) take different rows.
        ids = list(
            due.order_by("next_attempt_at").select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit]
        )
        WebhookDelivery.objects.filter(pk__in=ids).update(queued_until=now + timedelta(seconds=QUEUED_SECONDS))
    return hand_over(ids)


def purge(*, limit: int = 5000) -> int:
    """Forget delivered and failed rows older than TOCSIN_WEBHOOK_KEEP_DAYS, a bounded slice per call."""
    cutoff = timezone.now() - timedelta(days=settings.TOCSIN_WEBHOOK_KEEP_DAYS)
    old = list(
        WebhookDelivery.objects.filter(created_at__lt=cutoff)
        .exclude(status=WebhookDelivery.Status.PENDING)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    deleted, _ = WebhookDelivery.objects.filter(pk__in=old).delete()
    return deleted


def queue_now(ids: Sequence[int]) -> int:
    """Staff's "retry now": due at once, queued after the commit."""
    now = timezone.now()
    WebhookDelivery.objects.filter(pk__in=ids).update(
        status=WebhookDelivery.Status.PENDING,
        next_attempt_at=now,
        queued_until=now + timedelta(seconds=QUEUED_SECONDS),
    )
    transaction.on_commit(lambda: hand_over(list(ids)), robust=True)
    return len(ids)
