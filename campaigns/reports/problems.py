"""A campaign's problem list: who failed, bounced, was refused or complained, and why.

Staff read it to clean an old list or to answer "why didn't X get the
alert?". While the campaign's ledger is there it comes from the Delivery rows
and their latest problem event; once the ledger is rolled up
(campaigns/rollup/), from the ``RolledUpProblem`` lines kept in its place. A
roll-up stopped midway has moved some lines and not others, each batch wholly
or not at all: the list is then both sources merged in delivery order, each
line once. Every line has the same attributes either way: ``subscriber``,
``status`` (``get_status_display``), ``event_kind``, ``event_reason``,
``error``, ``occurred_at``.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator
from typing import Any

from django.db.models import DateTimeField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from campaigns.models import Campaign, Delivery, DeliveryEvent, RolledUpProblem
from campaigns.models.rollup import PROBLEM_KINDS, PROBLEM_STATUSES
from campaigns.rollup.reading import rollup_of

CHUNK = 2000


def problem_rows(campaign: Campaign, *, limit: int | None = None) -> Iterator[Any]:
    """The problem list in delivery order (the first ``limit`` lines), from the ledger or its roll-up."""
    rollup = rollup_of(campaign)
    if rollup is None:
        yield from problem_deliveries(campaign, limit=limit).iterator(chunk_size=CHUNK)
        return
    kept = RolledUpProblem.objects.filter(campaign=campaign).select_related("subscriber").order_by("campaign", "pk")
    if limit is not None:
        kept = kept[:limit]
    if rollup.finished_at is not None:  # every row gone: nothing left in the ledger to read
        yield from kept.iterator(chunk_size=CHUNK)
        return
    merged = heapq.merge(
        kept.iterator(chunk_size=CHUNK),
        problem_deliveries(campaign, limit=limit).iterator(chunk_size=CHUNK),
        key=lambda line: line.pk,
    )
    yield from itertools.islice(merged, limit)


def problem_deliveries(campaign: Campaign, *, limit: int | None = None) -> QuerySet[Delivery]:
    """Failed and unknown sends, and deliveries that bounced, were rejected or complained (the first ``limit``).

    One query: the latest problem event's kind, reason and time come from subqueries.
    """
    problem_events = DeliveryEvent.objects.filter(delivery_id=OuterRef("pk"), kind__in=PROBLEM_KINDS).order_by(
        "-occurred_at", "-pk"
    )
    # The ids first, from two index-only scans (campaign, status, id) and (campaign,
    # kind, delivery), sorted and cut to ``limit`` before any row is read. "WHERE
    # campaign = … ORDER BY id LIMIT n" over the rows instead lets Postgres walk the
    # whole ledger's primary key looking for this campaign's rows: 20 s at 50
    # million rows for a recent campaign (bench/ledger_bench.py).
    failed = Delivery.objects.filter(campaign=campaign, status__in=PROBLEM_STATUSES).values("id")
    with_problem_events = DeliveryEvent.objects.filter(
        campaign=campaign, kind__in=PROBLEM_KINDS, delivery__isnull=False
    ).values("delivery_id")
    ids = failed.union(with_problem_events)
    if limit is not None:
        ids = ids.order_by("id")[:limit]
    return (
        Delivery.objects.filter(pk__in=ids)
        .annotate(
            event_kind=Subquery(problem_events.values("kind")[:1]),
            event_reason=Subquery(problem_events.values("reason")[:1]),
            occurred_at=Coalesce(
                Subquery(problem_events.values("occurred_at")[:1]),
                "sent_at",
                "claimed_at",
                output_field=DateTimeField(),
            ),
        )
        .select_related("subscriber")
        # Not by id alone, for the same reason: the primary key's order is the trap.
        .order_by("campaign_id", "pk")
    )
