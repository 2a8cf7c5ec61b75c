"""The sender threads of one batch: take rows, render, claim, send through a transport, record.

``BatchState`` is what the threads of one batch share: the rows still to
take (fetched ``CHUNK`` at a time, with whatever the renderer needs for the
chunk in one query), the throttle, the counts, and the stop flag that pause,
cancel, a lost lease or an urgent alert raise (checked every
``CONTROL_INTERVAL`` seconds: staff see the effect within two).

Two loops, one per kind of transport (``campaigns/sending/transports``):

- ``one_at_a_time``: the ledger's ``advance`` records the previous message's
  outcome and claims the next row in one statement, so each connection has
  at most ONE delivery in ``sending`` at any instant;
- ``in_groups``: a provider's batch call; the group is rendered first (a
  crash while rendering leaves the rows ``queued``), claimed in one
  statement, sent in one call and recorded in one transaction.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from campaigns.models import Campaign
from campaigns.sending import batching, ledger
from campaigns.sending.outcomes import Classified, Outcome, classify
from campaigns.sending.rendering import CampaignRenderer
from campaigns.sending.throttle import Throttle
from campaigns.sending.transports import Transport
from subscribers.models import Subscriber, Suppression

logger = logging.getLogger(__name__)

CHUNK = 200  # rows fetched per query: one ORM query per default-sized batch, not four
YIELD = "yield to an alert"
CONTROL_INTERVAL = 0.5  # seconds between checks of pause/cancel/alerts (SPEC: effect within 2 s)

# A row of ``batching.queued_rows``:
# (delivery id, subscriber id, language, attempts, email, name, subscriber's language, status, tracking allowed)
Row = tuple


@dataclass
class BatchResult:
    """What one run of a batch did, and why it stopped early if it did."""

    sent: int = 0
    failed: int = 0
    skipped: int = 0
    unknown: int = 0
    stopped: str = ""  # why the batch stopped early ("paused", "cancelled", "lease lost", YIELD…)
    retry_error: str = ""  # set when a transient error stopped it: retry later
    ran: bool = True  # False: the batch was done or held by another task
    batch_id: int = 0
    token: str = ""
    stats: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    @property
    def finished(self) -> bool:
        return self.ran and not self.stopped and not self.retry_error

    @property
    def yielded(self) -> bool:
        """It stepped out to let an urgent alert through, and comes back a moment later."""
        return self.stopped == YIELD


class BatchState:
    """State shared by the sender threads of one batch."""

    def __init__(self, campaign: Campaign, renderer: CampaignRenderer, *, first_id: int, last_id: int) -> None:
        self.campaign = campaign
        self.first_id, self.last_id = first_id, last_id
        self.batch_id, self.token = 0, ""  # the lease (batching.acquire), set by the runner
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.result = BatchResult()
        self.next_check = 0.0
        self.after = first_id - 1
        self.buffer: list[Row] = []
        self.throttle = Throttle()
        self.renderer = renderer
        self.list_ids: dict[int, set[int]] = {}
        self.block_values: dict[int, dict[str, Any]] = {}  # per-recipient blocks (plugins), per subscriber
        self.permanent_streak = 0

    # Called with self.lock held.
    def _control(self) -> None:
        now = time.monotonic()
        if now < self.next_check:
            return
        self.next_check = now + CONTROL_INTERVAL
        status = Campaign.objects.values_list("status", flat=True).get(pk=self.campaign.pk)
        if status != Campaign.Status.SENDING:
            self.halt(str(status))
            return
        if not batching.renew(self.batch_id, self.token):
            self.halt("lease lost")
            return
        # Bulletins and appeals make room for an urgent alert: the alert then
        # has the CPU, the pool processes and the provider's rate to itself.
        # The batch steps out (and comes back a moment later) rather than
        # sleeping here, so that it never holds a pool process the alert needs.
        if self.campaign.kind != Campaign.Kind.ALERT and _alert_sending(exclude=self.campaign.pk):
            self.halt(YIELD)

    def halt(self, reason: str) -> None:
        if not self.result.stopped:
            self.result.stopped = reason
        self.stop.set()

    def next_row(self) -> Row | None:
        with self.lock:
            if self.stop.is_set():
                return None
            self._control()
            if self.stop.is_set():
                return None
            if not self.buffer:
                self._fetch()
                if not self.buffer:
                    return None
            return self.buffer.pop()

    def _fetch(self) -> None:
        self.buffer = batching.queued_rows(self.campaign.pk, self.first_id, self.last_id, after=self.after, limit=CHUNK)
        if not self.buffer:
            return
        self.after = self.buffer[-1][0]
        self.buffer.reverse()
        subscriber_ids = [row[1] for row in self.buffer]
        if len(self.renderer.lists) > 1:
            self.list_ids = self.renderer.subscribed_list_ids(subscriber_ids)
        # One call per block and chunk (an appeal's suggested amounts: one query); none without blocks.
        self.block_values = self.renderer.block_values_for(subscriber_ids)

    def render(self, row: Row) -> Any:
        """The message for one row, with what this chunk already fetched."""
        return self.renderer.render(
            subscriber=_recipient(row),
            delivery_id=row[0],
            language=row[2] or None,
            list_ids=self.list_ids.get(row[1]),
            block_values=self.block_values.get(row[1]),
            variant=row[9],
        )

    def still_subscribed(self, row: Row) -> bool:
        """False (and the row skipped in the ledger) for someone who left after the snapshot."""
        if row[7] == Subscriber.Status.CONFIRMED:
            return True
        ledger.skip(row[0], f"subscriber is {row[7]}")
        with self.lock:
            self.result.skipped += 1
        return False

    def settle(self, delivery_id: int, email: str, verdict: Classified) -> None:
        """Count one outcome and react to it: a transient error stops the batch, a streak of failures too."""
        with self.lock:
            if verdict.outcome == Outcome.SENT:
                self.result.sent += 1
            elif verdict.outcome == Outcome.FAILED:
                self.result.failed += 1
            elif verdict.outcome == Outcome.UNKNOWN:
                self.result.unknown += 1
                logger.warning("campaign %s delivery %s unknown: %s", self.campaign.pk, delivery_id, verdict.error)
            if verdict.outcome == Outcome.RETRY:
                self.result.retry_error = self.result.retry_error or verdict.error
                self.stop.set()
            elif verdict.outcome == Outcome.FAILED:
                self._permanent(verdict)
        if verdict.outcome == Outcome.FAILED and verdict.suppress:
            _suppress(email, verdict.error)

    # Called with self.lock held.
    def _permanent(self, verdict: Classified) -> None:
        """Per-recipient rejections are normal; a streak of other failures means something is broken."""
        if verdict.suppress:
            self.permanent_streak = 0
            return
        self.permanent_streak += 1
        if self.permanent_streak >= max(settings.TOCSIN_SEND_MAX_FAILURES, 1) * 2:
            self.result.retry_error = self.result.retry_error or verdict.error
            self.stop.set()

    def add_stats(self, **seconds: float) -> None:
        """Per-stage time, when ``TOCSIN_SEND_STATS`` is on (the benchmark reads it)."""
        with self.lock:
            for name, value in seconds.items():
                self.result.stats[name] += value


def _alert_sending(*, exclude: int) -> bool:
    return (
        Campaign.objects.filter(kind=Campaign.Kind.ALERT, status=Campaign.Status.SENDING).exclude(pk=exclude).exists()
    )


@dataclass(slots=True)
class Recipient:
    """What ``CampaignRenderer.render`` reads of a subscriber.

    Building a ``Subscriber`` model instance per message (Django's
    ``Model.__init__`` with its signals and field defaults) cost more than
    signing all of the message's links; the renderer only reads attributes.
    """

    id: int
    email: str
    name: str
    language: str
    tracking_allowed: bool

    @property
    def pk(self) -> int:
        return self.id


def _recipient(row: Row) -> Subscriber:
    _id, subscriber_id, language, _attempts, email, name, sub_language, _status, tracking = row[:9]
    return Recipient(subscriber_id, email, name, language or sub_language, tracking)  # type: ignore[return-value]


def _suppress(email: str, error: str) -> None:
    from subscribers.services import suppress

    suppress(email=email, reason=Suppression.Reason.REJECTED, detail=error[:255])


# --- the two loops -----------------------------------------------------------------------


def run(state: BatchState, transport_factory: Callable[[], Transport]) -> None:
    """One sender thread: one transport (one connection), until the batch is done or stopped."""
    transport = transport_factory()
    try:
        ledger.fast_commits()
        if transport.max_per_call > 1:
            in_groups(state, transport)
        else:
            one_at_a_time(state, transport)
    finally:
        transport.close()
        try:
            ledger.normal_commits()
        except Exception:  # the connection may be gone; the next use reconnects
            logger.debug("could not reset synchronous_commit", exc_info=True)


def one_at_a_time(state: BatchState, transport: Transport) -> None:
    """Claim, render, send, and record each message in the statement that claims the next."""
    stats = settings.TOCSIN_SEND_STATS
    clock = time.perf_counter
    pending: ledger.Done | None = None
    while (row := state.next_row()) is not None:
        if not state.still_subscribed(row):
            continue
        delivery_id = row[0]
        state.throttle.wait()
        t0 = clock()
        claimed = ledger.advance(pending, delivery_id)
        pending = None
        t1 = clock()
        if not claimed:
            continue  # another worker took it, or the person left a moment ago
        try:
            prepared = transport.prepare(state.render(row), campaign_id=state.campaign.pk, delivery_id=delivery_id)
        except Exception as exc:
            t2 = clock()
            verdict = classify(exc)
            logger.warning("campaign %s delivery %s: %s", state.campaign.pk, delivery_id, verdict.error)
        else:
            t2 = clock()
            verdict = transport.send([prepared])[0]
        t3 = clock()
        pending = ledger.Done(delivery_id, verdict.outcome, esp_message_id=verdict.message_id, error=verdict.error)
        if verdict.suppress:
            ledger.advance(pending, None)  # failed in the ledger before the address is suppressed
            pending = None
        state.settle(delivery_id, row[4], verdict)
        if stats:
            state.add_stats(db=t1 - t0, render=t2 - t1, send=t3 - t2, messages=1)
    if pending is not None:
        ledger.advance(pending, None)


def in_groups(state: BatchState, transport: Transport) -> None:
    """Groups of up to ``transport.max_per_call`` messages: render all, claim all, one call, record all."""
    stats = settings.TOCSIN_SEND_STATS
    clock = time.perf_counter
    while True:
        rows = _take(state, transport.max_per_call)
        if not rows or state.stop.is_set():
            break  # rows taken but not claimed stay queued: a pause leaves them for the resume
        state.throttle.wait(len(rows))
        t0 = clock()
        prepared, outcomes = _prepare_group(state, transport, rows)
        t1 = clock()
        won = ledger.claim([row[0] for row in rows])
        prepared = [(d, p) for d, p in prepared if d in won]
        outcomes = [(d, v) for d, v in outcomes if d in won]
        t2 = clock()
        verdicts = transport.send([p for _d, p in prepared])
        outcomes += [(d, v) for (d, _p), v in zip(prepared, verdicts, strict=True)]
        t3 = clock()
        ledger.record(outcomes)
        emails = {row[0]: row[4] for row in rows}
        for delivery_id, verdict in outcomes:
            state.settle(delivery_id, emails[delivery_id], verdict)
        if stats:
            state.add_stats(render=t1 - t0, db=(t2 - t1) + (clock() - t3), send=t3 - t2, messages=len(rows), calls=1)


def _take(state: BatchState, limit: int) -> list[Row]:
    """Up to ``limit`` rows of people still subscribed; the others are skipped on the spot."""
    rows: list[Row] = []
    while len(rows) < limit:
        row = state.next_row()  # checks pause / cancel / lease / alerts every half second
        if row is None:
            break
        if state.still_subscribed(row):
            rows.append(row)
    return rows


def _prepare_group(
    state: BatchState, transport: Transport, rows: list[Row]
) -> tuple[list[tuple[int, Any]], list[tuple[int, Classified]]]:
    """Each row rendered and prepared; the ones that cannot be (a refused address, a template bug) failed."""
    prepared: list[tuple[int, Any]] = []
    failed: list[tuple[int, Classified]] = []
    for row in rows:
        delivery_id = row[0]
        try:
            message = state.render(row)
            ready = transport.prepare(message, campaign_id=state.campaign.pk, delivery_id=delivery_id)
        except Exception as exc:  # this one only
            verdict = classify(exc)
            logger.warning("campaign %s delivery %s: %s", state.campaign.pk, delivery_id, verdict.error)
            failed.append((delivery_id, verdict))
        else:
            prepared.append((delivery_id, ready))
    return prepared, failed
