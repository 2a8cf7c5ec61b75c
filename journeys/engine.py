"""Beat's side of journeys: find due places in batches and run their steps, exactly once.

Each batch is one transaction:

1. claim up to ``TOCSIN_JOURNEY_BATCH`` due enrolments with ``SELECT … FOR
   UPDATE SKIP LOCKED`` (two workers or two beats never take the same rows);
2. run the steps that take no time (an email, a condition, a list change)
   until each person reaches a wait or the end; an email step adds the person
   to the step's campaign ledger (``INSERT … ON CONFLICT DO NOTHING``: the
   unique campaign + subscriber is once per person per step) and cuts send
   batches for the new rows;
3. move the enrolments on (a few UPDATEs, one per step and due time), commit.

A worker killed before the commit leaves nothing (the rows come due again);
after it, the deliveries are in the ledger and the sending engine sends each
once (claim, send, record), its sweeper picking up whatever was not queued.
Memory stays flat: one batch of ids at a time, whatever the journey's size.
"""

# The SQL here is built from model table names and code constants; every value is a parameter.
# ruff: noqa: S608
from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from campaigns.models import Campaign, Delivery
from campaigns.sending import audience, batching, frequency
from campaigns.tasks import continue_sending
from journeys import conditions
from journeys.models import Enrolment, Journey, Step
from journeys.schedule import wait_ends
from subscribers.models import Subscriber, Subscription, Suppression

ES = Enrolment.State
MAX_HOPS = 200  # steps run back to back for one person in one batch; branches only go forward


@dataclass
class Place:
    """One claimed enrolment while its batch runs."""

    id: int
    journey_id: int
    subscriber_id: int
    step_id: int | None
    entered_at: datetime
    due_at: datetime | None = None
    done: bool = False


@dataclass
class BatchResult:
    claimed: int = 0
    emailed: int = 0
    completed: int = 0
    campaigns: set[int] = field(default_factory=set)


class Plan:
    """A journey's steps in order: what comes after each."""

    def __init__(self, steps: Iterable[Step]) -> None:
        self.steps: dict[int, Step] = {}
        self._next: dict[int, int | None] = {}
        by_journey: dict[int, list[Step]] = defaultdict(list)
        for step in steps:
            self.steps[step.pk] = step
            by_journey[step.journey_id].append(step)
        for ordered in by_journey.values():
            ordered.sort(key=lambda s: (s.position, s.pk))
            for index, step in enumerate(ordered):
                self._next[step.pk] = ordered[index + 1].pk if index + 1 < len(ordered) else None

    def after(self, step_id: int) -> int | None:
        return self._next.get(step_id)

    def branch(self, step_id: int) -> int | None:
        target = self.steps[step_id].branch_to_id
        return target if target in self.steps else self.after(step_id)


def _claim(limit: int, now: datetime) -> list[Place]:
    rows = (
        Enrolment.objects.filter(state=ES.ACTIVE, due_at__lte=now, journey__status=Journey.Status.ACTIVE)
        .order_by("due_at", "id")
        .select_for_update(skip_locked=True, of=("self",))
        .values_list("id", "journey_id", "subscriber_id", "step_id", "entered_at")[:limit]
    )
    return [Place(*row) for row in rows]


def run_batch(*, limit: int | None = None) -> BatchResult:
    """Claim one batch of due places and run it; commit; then hand new deliveries to the senders."""
    limit = limit or settings.TOCSIN_JOURNEY_BATCH
    now = timezone.now()
    result = BatchResult()
    with transaction.atomic():
        places = _claim(limit, now)
        result.claimed = len(places)
        if not places:
            return result
        plan = Plan(Step.objects.filter(journey_id__in={p.journey_id for p in places}).select_related("campaign"))
        _run_steps(places, plan, now, result)
        _save(places, now)
        result.completed = sum(1 for p in places if p.step_id is None)
        for campaign_id in result.campaigns:
            transaction.on_commit(partial(_dispatch, campaign_id))
    return result


def _dispatch(campaign_id: int) -> None:
    # Best effort: the sending engine's sweeper dispatches the same batches from the database.
    try:
        continue_sending(campaign_id)
    except Exception:  # the broker is down: the sweeper does it later
        import logging

        logging.getLogger(__name__).warning("journey email %s: batches left for the sweeper", campaign_id)


def _run_steps(places: list[Place], plan: Plan, now: datetime, result: BatchResult) -> None:
    moving = list(places)
    for _hop in range(MAX_HOPS):
        if not moving:
            return
        by_step: dict[int | None, list[Place]] = defaultdict(list)
        for place in moving:
            by_step[place.step_id].append(place)
        moving = []
        for step_id, group in by_step.items():
            if step_id is None or step_id not in plan.steps:
                for place in group:
                    place.step_id, place.done = None, True
                continue
            _run_step(plan, plan.steps[step_id], group, now, result)
            moving.extend(p for p in group if not p.done and p.due_at is None)


def _run_step(plan: Plan, step: Step, group: list[Place], now: datetime, result: BatchResult) -> None:
    """Run one step for everyone in ``group``; set where each goes next (due now: ``due_at`` None)."""
    next_id = plan.after(step.pk)
    if step.kind == Step.Kind.WAIT:
        for place in group:
            place.step_id, place.due_at = next_id, wait_ends(step, start=now)
            place.done = next_id is None
        return
    if step.kind == Step.Kind.CONDITION:
        met = conditions.met(step, group)
        branch_id = plan.branch(step.pk)
        for place in group:
            _move(place, branch_id if place.subscriber_id in met else next_id)
        return
    _act(step, [place.subscriber_id for place in group], now, result)
    for place in group:
        _move(place, None if step.kind == Step.Kind.END else next_id)


def _act(step: Step, subscriber_ids: list[int], now: datetime, result: BatchResult) -> None:
    """What a step does to people: queue its email, change a list (an end step does nothing)."""
    if step.kind == Step.Kind.EMAIL and step.campaign is not None:
        # The frequency cap (TOCSIN_FREQUENCY_CAP) holds journey emails back as it does bulletins:
        # a person over it skips this email and moves on, like a suppressed one.
        capped = frequency.capped_among(subscriber_ids, kind="journey")
        added = add_deliveries(step.campaign, [pk for pk in subscriber_ids if pk not in capped])
        if added:
            result.emailed += len(added)
            result.campaigns.add(step.campaign.pk)
    elif step.kind in (Step.Kind.ADD_TO_LIST, Step.Kind.REMOVE_FROM_LIST) and step.mailing_list_id:
        change_list(step, subscriber_ids, now)


def _move(place: Place, step_id: int | None) -> None:
    place.step_id = step_id
    place.done = step_id is None


def _save(places: list[Place], now: datetime) -> None:
    """Write where everyone went: one UPDATE per (step, due time, state)."""
    groups: dict[tuple[int | None, datetime | None, str], list[int]] = defaultdict(list)
    for place in places:
        if place.step_id is None:
            groups[(None, None, ES.COMPLETED)].append(place.id)
        else:
            groups[(place.step_id, place.due_at or now, ES.ACTIVE)].append(place.id)
    for (step_id, due_at, state), ids in groups.items():
        finished = now if state == ES.COMPLETED else None
        Enrolment.objects.filter(pk__in=ids).update(step_id=step_id, due_at=due_at, state=state, finished_at=finished)


# --- what the steps do -----------------------------------------------------------------------


def add_deliveries(campaign: Campaign, subscriber_ids: list[int]) -> list[int]:
    """Queue ``campaign`` for those of ``subscriber_ids`` who may be mailed; the new delivery ids.

    Confirmed, not paused, not suppressed: what protects the person applies
    as to a campaign's audience, and so do the frequency cap (the caller,
    kind "journey"), the lists' and the person's tracking choices and
    List-Unsubscribe (the campaign engine sends it). The audience filters of
    ``campaigns/sending/plugins.py`` do NOT: they pick a campaign's one-off
    audience (leave out who signed, only donors…), while a journey's people
    are whoever entered it, sorted by its condition steps and exit rules; a
    thank-you series for signers left out "who signed" would reach nobody.
    A person already in this ledger is left alone (ON CONFLICT): once per step.
    """
    if not subscriber_ids:
        return []
    languages = audience.campaign_languages(campaign)
    in_ids = ", ".join(["%s"] * len(subscriber_ids))
    in_languages = ", ".join(["%s"] * len(languages))
    sql = (
        f"INSERT INTO {Delivery._meta.db_table} (campaign_id, subscriber_id, status, language, attempts,"
        " claimed_at, sent_at, esp_message_id, error)"
        f" SELECT %s, s.id, %s, CASE WHEN s.language IN ({in_languages}) THEN s.language ELSE %s END,"
        " 0, NULL, NULL, '', ''"
        f" FROM {Subscriber._meta.db_table} s WHERE s.id IN ({in_ids}) AND s.status = %s"
        " AND (s.paused_until IS NULL OR s.paused_until < %s)"
        f" AND NOT EXISTS (SELECT 1 FROM {Suppression._meta.db_table} x WHERE x.email_hash = s.email_hash)"
        " ORDER BY s.id"
        " ON CONFLICT (campaign_id, subscriber_id) DO NOTHING RETURNING id"
    )
    params: list[Any] = [
        campaign.pk,
        Delivery.Status.QUEUED,
        *languages,
        campaign.language,
        *subscriber_ids,
        Subscriber.Status.CONFIRMED,
        timezone.localdate(),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        new_ids = sorted(int(row[0]) for row in cursor.fetchall())
    if new_ids:
        batching.cut_batches(campaign, ids=new_ids)
    return new_ids


def change_list(step: Step, subscriber_ids: list[int], now: datetime) -> None:
    """Add to or take off a list. Adding never brings back someone who left that list themselves."""
    assert step.mailing_list_id is not None
    existing = Subscription.objects.filter(mailing_list_id=step.mailing_list_id, subscriber_id__in=subscriber_ids)
    if step.kind == Step.Kind.REMOVE_FROM_LIST:
        existing.filter(status=Subscription.Status.ACTIVE).update(
            status=Subscription.Status.UNSUBSCRIBED, updated_at=now
        )
        return
    known = set(existing.values_list("subscriber_id", flat=True))
    Subscription.objects.bulk_create(
        [
            Subscription(subscriber_id=sid, mailing_list_id=step.mailing_list_id, created_at=now)
            for sid in subscriber_ids
            if sid not in known
        ],
        ignore_conflicts=True,
    )


# --- the beat task's loop --------------------------------------------------------------------


def run_due(*, seconds: float | None = None) -> dict[str, int]:
    """Run batches until nothing is due or ``seconds`` have passed (beat starts it again soon)."""
    budget = settings.TOCSIN_JOURNEY_RUN_SECONDS if seconds is None else seconds
    deadline = time.monotonic() + budget
    totals = {"claimed": 0, "emailed": 0, "completed": 0}
    while True:
        result = run_batch()
        totals["claimed"] += result.claimed
        totals["emailed"] += result.emailed
        totals["completed"] += result.completed
        if result.claimed == 0 or time.monotonic() > deadline:
            return totals
