"""Write a task call in the caller's transaction; hand it to the broker once it is committed.

Why: ``task.delay_on_commit()`` publishes after the commit, so when Redis is
down the change is saved and the email is lost (and the web request answers
500 after the fact). Here the task call is a row written in the same
transaction as the change: it cannot be lost while the database keeps it.

Two relays hand rows over:
- right after the commit, in the process that wrote the row (the fast path:
  a conditional UPDATE claims the row, then it is published);
- beat's ``outbox.tasks.relay_outbox`` every ``TOCSIN_OUTBOX_RELAY_SECONDS``,
  for rows the fast path could not hand over (broker down, process killed):
  it claims waiting rows with ``select_for_update(skip_locked=True)``.

Each row is claimed under a token before it is published and marked sent
under that token, so two relays never publish the same row. A relay that
dies between the broker's acceptance and marking the row sent is the one
window where a row can go out twice, after ``CLAIM_SECONDS``: tasks fed by
the outbox must therefore tolerate a rare repeat (the confirmation and
welcome emails do: the second one is the same email).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Mapping, Sequence
from datetime import timedelta
from functools import partial
from typing import Any

import kombu.exceptions
from celery import Task, current_app
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from outbox.models import OutboxMessage

logger = logging.getLogger(__name__)

# A relay killed mid-publish leaves its rows claimed; after this long another takes them.
CLAIM_SECONDS = 60
# What the broker raises when it cannot be reached (kombu wraps redis-py's errors).
BROKER_ERRORS: tuple[type[Exception], ...] = (kombu.exceptions.OperationalError, OSError)

# After the broker refused a message, this process stops trying on the fast
# path for a while: each try costs a web request a failed connection (a few
# milliseconds when the port is closed, the connect timeout when the host
# does not answer), and beat's relay hands the rows over once it is back.
_QUIET_SECONDS = 10.0
_quiet_until = 0.0


def enqueue(
    task: Task | str,
    *,
    args: Sequence[Any] = (),
    kwargs: Mapping[str, Any] | None = None,
    queue: str = "",
) -> OutboxMessage:
    """Call ``task`` once the current transaction commits; never lost if the broker is down.

    Arguments must be JSON (ids, strings, numbers), as for any Celery task.
    Called outside a transaction, the row is written and handed over at once.
    """
    name = task if isinstance(task, str) else task.name
    message = OutboxMessage.objects.create(task=name, args=list(args), kwargs=dict(kwargs or {}), queue=queue)
    # robust: whatever goes wrong in the hand-over, the change is committed
    # and the row waits for beat's relay; the caller's request must not fail.
    transaction.on_commit(partial(_hand_over_now, message), robust=True)
    return message


def _hand_over_now(message: OutboxMessage) -> None:
    """The fast path, right after the commit: one conditional UPDATE claims the row just written."""
    if time.monotonic() < _quiet_until:
        return
    token = secrets.token_hex(8)
    claimed = OutboxMessage.objects.filter(pk=message.pk, sent_at__isnull=True, claimed_until__isnull=True).update(
        claim=token, claimed_until=timezone.now() + timedelta(seconds=CLAIM_SECONDS)
    )
    if claimed:  # else beat's relay got there first
        _hand_over([message], token)


def relay(*, limit: int = 500) -> int:
    """Beat's relay: hand up to ``limit`` waiting rows to the broker; how many were handed over."""
    rows, token = _claim(limit=limit)
    return _hand_over(rows, token)


def relay_now(ids: Sequence[int]) -> tuple[int, int]:
    """Staff's "relay now": hand these waiting rows to the broker at once; (handed over, still waiting).

    Rows already sent, or held by a relay publishing them right now, are left alone.
    """
    now = timezone.now()
    token = secrets.token_hex(8)
    OutboxMessage.objects.filter(pk__in=ids, sent_at__isnull=True).filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)
    ).update(claim=token, claimed_until=now + timedelta(seconds=CLAIM_SECONDS))
    rows = list(OutboxMessage.objects.filter(claim=token).order_by("id"))
    handed = _hand_over(rows, token)
    return handed, len(rows) - handed


def _hand_over(rows: Sequence[OutboxMessage], token: str) -> int:
    """Publish claimed rows in order; stop at the first broker error and release the rest."""
    global _quiet_until
    for index, row in enumerate(rows):
        try:
            _publish(row)
        except BROKER_ERRORS as error:
            _release(rows[index:], token, error=error)
            _quiet_until = time.monotonic() + _QUIET_SECONDS
            logger.warning(
                "outbox: the broker refused %s (%s); %d message(s) wait for the relay", row, error, len(rows) - index
            )
            return index
        OutboxMessage.objects.filter(pk=row.pk, claim=token).update(
            sent_at=timezone.now(), claim="", claimed_until=None, attempts=F("attempts") + 1
        )
    return len(rows)


def _claim(*, limit: int) -> tuple[list[OutboxMessage], str]:
    now = timezone.now()
    token = secrets.token_hex(8)
    waiting = OutboxMessage.objects.filter(sent_at__isnull=True).filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)
    )
    with transaction.atomic():
        # SKIP LOCKED: a concurrent relay's rows are passed over, not waited for.
        picked = list(waiting.order_by("id").select_for_update(skip_locked=True).values_list("id", flat=True)[:limit])
        if not picked:
            return [], token
        OutboxMessage.objects.filter(pk__in=picked).update(
            claim=token, claimed_until=now + timedelta(seconds=CLAIM_SECONDS)
        )
    return list(OutboxMessage.objects.filter(claim=token).order_by("id")), token


def _publish(row: OutboxMessage) -> None:
    options: dict[str, Any] = {"queue": row.queue} if row.queue else {}
    # retry=False: one attempt; a broker that is down is the relay's business.
    task = current_app.tasks.get(row.task)
    if task is not None:
        # The task's own options (routing, expiry) apply, as with .delay().
        task.apply_async(args=row.args, kwargs=row.kwargs, retry=False, **options)
    else:
        # Not importable here (renamed since the row was written?): by name.
        current_app.send_task(row.task, args=row.args, kwargs=row.kwargs, retry=False, **options)


def _release(rows: Sequence[OutboxMessage], token: str, *, error: Exception) -> None:
    failed, *rest = rows
    OutboxMessage.objects.filter(pk=failed.pk, claim=token).update(
        claim="", claimed_until=None, attempts=F("attempts") + 1, last_error=str(error)[:500]
    )
    OutboxMessage.objects.filter(pk__in=[row.pk for row in rest], claim=token).update(claim="", claimed_until=None)


def purge_sent() -> int:
    """Forget rows handed over more than ``TOCSIN_OUTBOX_KEEP_DAYS`` ago, a bounded slice per call."""
    cutoff = timezone.now() - timedelta(days=settings.TOCSIN_OUTBOX_KEEP_DAYS)
    old = list(OutboxMessage.objects.filter(sent_at__lt=cutoff).order_by("id").values_list("id", flat=True)[:5000])
    if not old:
        return 0
    deleted, _ = OutboxMessage.objects.filter(pk__in=old).delete()
    return deleted


def waiting_count() -> int:
    return OutboxMessage.objects.filter(sent_at__isnull=True).count()
