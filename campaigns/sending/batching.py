"""Step 2: cut the ledger into keyset batches and lease them to Celery tasks.

``prepare`` writes the audience snapshot (step 1) and the batches in one
transaction; ``dispatch`` hands the waiting ones to the queue; ``all_sent``
says when nothing is left.

A batch is a range ``[first_id, last_id]`` of one campaign's Delivery ids,
cut once by a single window-function query (the ids never come into Python).
Only ``TOCSIN_SEND_WINDOW`` batches per campaign are in the queue or running
at a time: the rest wait in the database, so pausing, cancelling or an urgent
alert never sits behind thousands of queued tasks, and Redis holds little.

Leases make the queue disposable. ``dispatch`` leases a batch before
enqueueing it (``TOCSIN_SEND_QUEUE_LEASE_SECONDS``: time it may wait in the
queue); the task re-leases it for ``TOCSIN_SEND_LEASE_SECONDS`` and renews
while it runs. A batch whose lease lapsed (worker killed, message lost in
Redis) is dispatched again by the sweeper; a duplicate task finds the lease
held, or the rows no longer queued, and does nothing.
"""

# The SQL here is built from model table names and code constants; every value is a parameter.
# ruff: noqa: S608
from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max, Min, Q
from django.utils import timezone

from campaigns.models import Campaign, Delivery, SendBatch
from campaigns.sending import audience
from outbox.relay import BROKER_ERRORS

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BatchRef:
    campaign_id: int
    first_id: int
    last_id: int
    lease: str


def cut_batches(campaign: Campaign, *, ids: Iterable[int] | None = None, size: int | None = None) -> int:
    """Create SendBatch rows covering the campaign's queued deliveries (or just ``ids``)."""
    size = size or settings.TOCSIN_SEND_BATCH_SIZE
    delivery = Delivery._meta.db_table
    where = "campaign_id = %s AND status = %s"
    params: list[Any] = [campaign.pk, Delivery.Status.QUEUED]
    if ids is not None:
        id_list = list(ids)
        if not id_list:
            return 0
        where += f" AND id IN ({', '.join(['%s'] * len(id_list))})"
        params += id_list
    if ids is None:
        ranges = _dense_ranges(campaign, size)
        if ranges is not None:
            return _create(campaign, ranges)
    # Both Postgres and SQLite divide integers as integers: row n lands in group n // size.
    sql = (
        "SELECT MIN(id), MAX(id), COUNT(*) FROM ("
        f"SELECT id, (ROW_NUMBER() OVER (ORDER BY id) - 1) / %s AS grp FROM {delivery} WHERE {where}"
        ") numbered GROUP BY grp ORDER BY 1"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [size, *params])
        ranges = cursor.fetchall()
    return _create(campaign, ranges)


def _dense_ranges(campaign: Campaign, size: int) -> list[tuple[int, int, int]] | None:
    """Cut by id arithmetic when the queued ids are (nearly) contiguous, as one snapshot makes them.

    One MIN/MAX/COUNT instead of numbering every row (measured: 13 s → well
    under a second for 1M deliveries). Gaps (rows another campaign's snapshot
    interleaved) only make some batches smaller; a sparse ledger (a re-cut
    after a partial send) takes the exact path instead.
    """
    row = Delivery.objects.filter(campaign=campaign, status=Delivery.Status.QUEUED).aggregate(
        low=Min("id"), high=Max("id"), count=Count("id")
    )
    low, high, count = row["low"], row["high"], row["count"]
    if not count:
        return []
    span = high - low + 1
    if span > count * 1.25:
        return None
    return [(start, min(start + size - 1, high), min(size, high - start + 1)) for start in range(low, high + 1, size)]


def _create(campaign: Campaign, ranges: list[tuple[int, int, int]]) -> int:
    now = timezone.now()
    SendBatch.objects.bulk_create(
        [SendBatch(campaign=campaign, first_id=a, last_id=b, size=n, created_at=now) for a, b, n in ranges],
        batch_size=2000,
    )
    return len(ranges)


def prepare(campaign_id: int) -> int:
    """Snapshot the audience and cut the batches, once; the number of deliveries written.

    Snapshot and batches are one transaction under the campaign's row lock:
    a worker killed half-way leaves nothing, and the sweeper prepares again.
    """
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
        if campaign.status != Campaign.Status.SENDING or is_prepared(campaign):
            return 0
        added = audience.snapshot(campaign)
        cut_batches(campaign)
    return added


def is_prepared(campaign: Campaign) -> bool:
    # An automated campaign has no snapshot: its automation writes its ledger, person by person.
    return campaign.automated or SendBatch.objects.filter(campaign=campaign).exists()


def recut_if_uncovered(campaign: Campaign) -> int:
    """Batches for queued rows no open batch covers (cannot happen by design; cheap to repair)."""
    if SendBatch.objects.filter(campaign=campaign, done=False).exists():
        return 0
    return cut_batches(campaign)


def all_sent(campaign: Campaign) -> bool:
    """True when nothing of a prepared campaign is queued (waiting or awaiting retry) or in flight.

    Its batches are then marked done. A campaign prepared with an empty
    audience has no batch and no delivery: all sent, too.
    """
    if campaign.automated:
        return False  # open for the people who reach its step later
    if not is_prepared(campaign):
        return not Delivery.objects.filter(campaign=campaign).exists()
    if Delivery.objects.filter(
        campaign=campaign, status__in=[Delivery.Status.QUEUED, Delivery.Status.SENDING]
    ).exists():
        return False
    SendBatch.objects.filter(campaign=campaign, done=False).update(done=True, lease_until=None)
    return True


def pending_batches(campaign_id: int) -> int:
    return SendBatch.objects.filter(campaign_id=campaign_id, done=False).count()


def dispatch(campaign: Campaign, enqueue: Callable[[BatchRef], None]) -> int:
    """Lease up to the window's free slots of waiting batches and enqueue them after commit.

    Returns how many were enqueued. Safe to call from anywhere at any time
    (the sweeper, a finishing batch, resume): leases are taken under row locks
    with SKIP LOCKED, so two callers never enqueue the same batch.
    """
    now = timezone.now()
    refs: list[BatchRef] = []
    with transaction.atomic():
        pending = SendBatch.objects.filter(campaign_id=campaign.pk, done=False)
        live = pending.filter(lease_until__gt=now).count()
        free = settings.TOCSIN_SEND_WINDOW - live
        if free <= 0:
            return 0
        lapsed = Q(lease_until__isnull=True) | Q(lease_until__lte=now)
        candidates = list(pending.filter(lapsed).order_by("id").select_for_update(skip_locked=True)[:free])
        until = now + timedelta(seconds=settings.TOCSIN_SEND_QUEUE_LEASE_SECONDS)
        for batch in candidates:
            token = secrets.token_hex(8)
            SendBatch.objects.filter(pk=batch.pk).update(lease_until=until, lease_token=token)
            refs.append(BatchRef(campaign.pk, batch.first_id, batch.last_id, token))
        transaction.on_commit(partial(_enqueue_all, enqueue, refs))
    return len(refs)


def _enqueue_all(enqueue: Callable[[BatchRef], None], refs: list[BatchRef]) -> None:
    for index, ref in enumerate(refs):
        try:
            enqueue(ref)
        except BROKER_ERRORS as error:
            # Not queued: give the leases back, so the sweeper hands these
            # batches out again as soon as the broker answers, not when the
            # queue lease would have lapsed minutes later.
            for unsent in refs[index:]:
                SendBatch.objects.filter(
                    campaign_id=unsent.campaign_id,
                    first_id=unsent.first_id,
                    last_id=unsent.last_id,
                    lease_token=unsent.lease,
                ).update(lease_until=None, lease_token="")
            left = len(refs) - index
            logger.warning("campaign %s: %d batch(es) not queued, broker down: %s", ref.campaign_id, left, error)
            return


def acquire(*, campaign_id: int, first_id: int, last_id: int, lease: str | None) -> tuple[int, str] | None:
    """Take the running lease of a batch; None when it is done or another task holds it."""
    now = timezone.now()
    token = secrets.token_hex(8)
    holdable = Q(lease_until__isnull=True) | Q(lease_until__lte=now)
    if lease:
        holdable |= Q(lease_token=lease)
    until = now + timedelta(seconds=settings.TOCSIN_SEND_LEASE_SECONDS)
    with transaction.atomic():
        batch = (
            SendBatch.objects.select_for_update()
            .filter(campaign_id=campaign_id, first_id=first_id, last_id=last_id, done=False)
            .filter(holdable)
            .order_by("id")
            .first()
        )
        if batch is None:
            return None
        SendBatch.objects.filter(pk=batch.pk).update(lease_until=until, lease_token=token)
    return batch.pk, token


def renew(batch_id: int, token: str) -> bool:
    """Extend a running lease; False means another task took the batch over."""
    until = timezone.now() + timedelta(seconds=settings.TOCSIN_SEND_LEASE_SECONDS)
    return bool(SendBatch.objects.filter(pk=batch_id, lease_token=token).update(lease_until=until))


def release(batch_id: int, token: str, *, done: bool, retry_in: float | None = None, failed: bool = False) -> None:
    """Give the batch back: finished, or to be picked up again (now or after ``retry_in`` seconds)."""
    updates: dict[str, object] = {"lease_token": ""}
    if done:
        updates["done"] = True
        updates["lease_until"] = None
    elif retry_in is not None:
        # Held through the back-off so the sweeper does not hand it out early.
        updates["lease_until"] = timezone.now() + timedelta(seconds=retry_in)
    else:
        updates["lease_until"] = None
    if not failed:
        updates["failures"] = 0
    SendBatch.objects.filter(pk=batch_id, lease_token=token).update(**updates)


def hold_for_retry(batch_id: int, token: str, *, seconds: float) -> str:
    """Keep the batch leased through a back-off under a new token (for the delayed task); "" if lost."""
    new_token = secrets.token_hex(8)
    until = timezone.now() + timedelta(seconds=seconds + settings.TOCSIN_SEND_QUEUE_LEASE_SECONDS)
    updated = SendBatch.objects.filter(pk=batch_id, lease_token=token).update(lease_until=until, lease_token=new_token)
    return new_token if updated else ""


def record_failure(batch_id: int) -> int:
    """Count one more consecutive transport failure of this batch; return the count."""
    from django.db.models import F

    SendBatch.objects.filter(pk=batch_id).update(failures=F("failures") + 1)
    return SendBatch.objects.values_list("failures", flat=True).get(pk=batch_id)


def queued_rows(campaign_id: int, first_id: int, last_id: int, *, after: int, limit: int) -> list[tuple]:
    """The next queued deliveries of a batch with what sending needs, by keyset (no OFFSET).

    Subscribers who are no longer confirmed show up here with their current
    status: the sender skips them (an unsubscribe mid-send takes effect).
    """
    return list(
        Delivery.objects.filter(
            campaign_id=campaign_id, id__gt=after, id__lte=last_id, id__gte=first_id, status=Delivery.Status.QUEUED
        )
        .order_by("id")
        .values_list(
            "id",
            "subscriber_id",
            "language",
            "attempts",
            "subscriber__email",
            "subscriber__name",
            "subscriber__language",
            "subscriber__status",
            "subscriber__tracking_allowed",
            "variant",
        )[:limit]
    )
