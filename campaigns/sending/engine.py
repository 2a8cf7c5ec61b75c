"""Steps 4 and 5: send one batch through one connection per sender, recording every outcome.

The ledger discipline that makes a send exactly-once "as far as physics allows":

- a delivery is claimed (``queued → sending``) by a conditional UPDATE that
  only one transaction can win, and that claim is COMMITTED before the
  message goes on the wire;
- the message is sent outside any transaction (no network I/O while holding
  locks), then its outcome is recorded in the same small transaction that
  claims the next one — so each connection has at most ONE delivery in
  ``sending`` at any instant;
- a worker killed mid-send therefore leaves at most one ``sending`` row per
  open connection: the sweeper turns it into ``unknown`` after
  ``TOCSIN_SEND_CLAIM_TIMEOUT`` and nothing re-sends it blindly; every other
  row is ``queued`` (sent later, once) or final.

On Postgres each of those tiny commits runs with ``synchronous_commit = off``:
the commit returns before the WAL reaches the disk. A killed *worker* loses
nothing (the server holds the commit); a crashed *Postgres server* may forget
the last few hundred milliseconds of transitions, so a handful of messages
could be sent a second time after a database crash. We accept that trade for a
several-fold cheaper claim; set ``TOCSIN_SEND_SYNC_COMMIT=1`` to refuse it.

HTTP providers answer in 50-300 ms, so a batch runs ``TOCSIN_SEND_THREADS``
senders, each with its own connection (and its own database connection).
"""

# The SQL here is built from model table names and code constants; every value is a parameter.
# ruff: noqa: S608
from __future__ import annotations

import logging
import random
import re
import smtplib
import socket
import threading
import time
import weakref
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import make_msgid, parseaddr
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.db import connection, connections
from django.utils import timezone

from campaigns.models import Campaign, Delivery
from campaigns.sending import batching, provider_batch, smtp
from campaigns.sending.mime import envelope_and_bytes
from campaigns.sending.rendering import CampaignRenderer
from campaigns.sending.throttle import Throttle
from subscribers.models import Subscriber, Suppression

logger = logging.getLogger(__name__)

DS = Delivery.Status
CHUNK = 200  # rows fetched per query: one ORM query per default-sized batch, not four
YIELD = "yield to an alert"
YIELD_SECONDS = 2.0
CONTROL_INTERVAL = 0.5  # seconds between checks of pause/cancel/alerts (SPEC: effect within 2 s)


class Outcome:
    SENT = "sent"
    FAILED = "failed"  # permanent for this recipient
    RETRY = "retry"  # transient: back to the queue, the batch retries later
    UNKNOWN = "unknown"  # the provider may or may not have taken it


@dataclass
class Classified:
    outcome: str
    suppress: bool = False
    error: str = ""


def describe(exc: BaseException) -> str:
    try:
        text = str(exc)
    except Exception:  # an exception whose __str__ fails (a half-built provider error)
        text = repr(exc.args)
    return f"{type(exc).__name__}: {text}"[:500]


def classify(exc: BaseException) -> Classified:
    """Sort a sending error into retry / failed / unknown.

    SMTP servers take responsibility for a message only with their final 250
    reply, so a refusal, a disconnect or a timeout before it means "not sent":
    retry. An HTTP call that timed out while reading the answer may have been
    accepted: unknown, never re-sent blindly.
    """
    error = describe(exc)
    try:
        from anymail.exceptions import AnymailAPIError, AnymailInvalidAddress, AnymailRecipientsRefused
    except ImportError:  # pragma: no cover - anymail is a dependency
        AnymailAPIError = AnymailInvalidAddress = AnymailRecipientsRefused = ()  # type: ignore[misc,assignment]
    if isinstance(exc, AnymailRecipientsRefused | AnymailInvalidAddress):
        return Classified(Outcome.FAILED, suppress=True, error=error)
    if isinstance(exc, AnymailAPIError):
        code = getattr(exc, "status_code", None)
        if code is None:
            import requests

            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, requests.Timeout) and not isinstance(cause, requests.ConnectTimeout):
                return Classified(Outcome.UNKNOWN, error=error)
            return Classified(Outcome.RETRY, error=error)
        if code in (408, 429) or code >= 500:
            return Classified(Outcome.RETRY, error=error)
        return Classified(Outcome.FAILED, error=error)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        if codes and all(code >= 500 for code in codes):
            return Classified(Outcome.FAILED, suppress=True, error=error)
        return Classified(Outcome.RETRY, error=error)
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return Classified(Outcome.RETRY, error=error)  # our configuration, not the recipient: pause after N
    if isinstance(exc, smtplib.SMTPResponseException):
        if 400 <= exc.smtp_code < 500:
            return Classified(Outcome.RETRY, error=error)
        return Classified(Outcome.FAILED, error=error)
    if isinstance(exc, smtplib.SMTPException | OSError | socket.timeout):
        return Classified(Outcome.RETRY, error=error)
    # A bug (a template error for one recipient, say): record it, never loop on it.
    return Classified(Outcome.FAILED, error=error)


# --- the ledger ---------------------------------------------------------------------


# Table name from the model and status constants from the code; every value is a parameter.
_TABLE = Delivery._meta.db_table
# Recording one outcome and claiming the next row is ONE statement, so that in
# autocommit it is one round trip and one commit: the claim wins only when the
# row is still queued, the outcome lands only on the row this worker claimed
# (or that the sweeper meanwhile called unknown). RETURNING says which won.
_ADVANCE_SQL = f"""
UPDATE {_TABLE} SET
  status = CASE WHEN id = %(claim)s THEN '{DS.SENDING}' ELSE %(status)s END,
  claimed_at = CASE WHEN id = %(claim)s THEN %(now)s WHEN %(status)s = '{DS.QUEUED}' THEN NULL ELSE claimed_at END,
  attempts = CASE WHEN id = %(claim)s THEN attempts + 1 ELSE attempts END,
  sent_at = CASE WHEN id = %(done)s THEN %(sent_at)s ELSE sent_at END,
  esp_message_id = CASE WHEN id = %(done)s THEN %(esp)s ELSE esp_message_id END,
  error = CASE WHEN id = %(done)s THEN %(error)s ELSE error END
WHERE (id = %(claim)s AND status = '{DS.QUEUED}')
   OR (id = %(done)s AND status IN ('{DS.SENDING}', '{DS.UNKNOWN}'))
RETURNING id
"""
_STATUS_FOR = {
    Outcome.SENT: DS.SENT,
    Outcome.FAILED: DS.FAILED,
    Outcome.UNKNOWN: DS.UNKNOWN,
    Outcome.RETRY: DS.QUEUED,
}


@dataclass
class Done:
    delivery_id: int
    outcome: str
    esp_message_id: str = ""
    error: str = ""


def advance(done: Done | None, claim_id: int | None) -> bool:
    """Record ``done``'s outcome and claim ``claim_id`` in ONE statement; True if the claim was won.

    The claim is a conditional UPDATE (``… WHERE status = 'queued'``): on
    Postgres a second claimer blocks on the row lock, re-checks the condition
    after the first commits, and updates nothing — two workers never get the
    same recipient. (A recorded outcome also lands on a row the sweeper
    already called ``unknown``: the worker was slow, not dead, and knows.)
    """
    if done is None and claim_id is None:
        return False
    params: dict[str, Any] = {
        "claim": claim_id if claim_id is not None else -1,
        "done": done.delivery_id if done is not None else -1,
        "status": _STATUS_FOR[done.outcome] if done is not None else DS.SENDING,
        "now": timezone.now(),
        "sent_at": timezone.now() if done is not None and done.outcome == Outcome.SENT else None,
        "esp": done.esp_message_id[:255] if done is not None else "",
        "error": done.error[:500] if done is not None else "",
    }
    if connection.vendor == "postgresql":
        rows = _execute_prepared(_ADVANCE, params)
    else:
        with connection.cursor() as cursor:
            cursor.execute(_ADVANCE_SQL, params)
            rows = cursor.fetchall()
    return claim_id is not None and any(int(row[0]) == claim_id for row in rows)


class _Prepared:
    """One SQL statement with named ``%(name)s`` parameters, as a libpq prepared statement."""

    def __init__(self, name: str, sql: str) -> None:
        self.name = name.encode()
        self.order: list[str] = []

        def number(match: re.Match[str]) -> str:
            if match[1] not in self.order:
                self.order.append(match[1])
            return f"${self.order.index(match[1]) + 1}"

        self.sql = re.sub(r"%\((\w+)\)s", number, sql).encode()


_ADVANCE = _Prepared("tocsin_advance", _ADVANCE_SQL)
_prepared_on: weakref.WeakKeyDictionary[Any, set[bytes]] = weakref.WeakKeyDictionary()


def _text(value: Any) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat().encode()
    return str(value).encode()


def _execute_prepared(statement: _Prepared, params: dict[str, Any]) -> list[tuple]:
    """Run ``statement`` through libpq's PQexecPrepared on Django's own Postgres connection.

    This statement runs once per message. Django's cursor binds parameters
    client-side (psycopg's ClientCursor quotes every value into the SQL text
    in Python, and the server parses and plans the text again each time);
    even psycopg's own ``prepare=True`` spends ~60 µs of Python per call
    converting and dumping parameters. Here the statement is parsed and
    planned once per connection and each call hands libpq the values as text:
    one C call, which lets go of the GIL while the server answers, so sender
    threads overlap. (Behind PgBouncer in transaction mode, prepared
    statements need PgBouncer ≥ 1.21 with ``max_prepared_statements`` set.)
    Same connection, so the same transaction and the same
    ``synchronous_commit`` as everything else.
    """
    from psycopg import errors, pq

    connection.ensure_connection()
    conn = connection.connection
    pgconn = conn.pgconn
    if not conn.autocommit and pgconn.transaction_status == pq.TransactionStatus.IDLE:
        # Inside Django's atomic() psycopg sends BEGIN before its first statement;
        # libpq does not, so this one would commit on its own.
        _check(pgconn.exec_(b"BEGIN"), pq.ExecStatus.COMMAND_OK, errors, conn)
    names = _prepared_on.setdefault(conn, set())
    if statement.name not in names:
        _check(pgconn.prepare(statement.name, statement.sql), pq.ExecStatus.COMMAND_OK, errors, conn)
        names.add(statement.name)
    result = pgconn.exec_prepared(statement.name, [_text(params[key]) for key in statement.order])
    _check(result, pq.ExecStatus.TUPLES_OK, errors, conn)
    return [tuple(result.get_value(row, col) for col in range(result.nfields)) for row in range(result.ntuples)]


def _check(result: Any, expected: Any, errors: Any, conn: Any) -> None:
    if result.status != expected:
        raise errors.error_from_result(result, encoding=conn.info.encoding)


def skip(delivery_id: int, reason: str) -> None:
    Delivery.objects.filter(pk=delivery_id, status=DS.QUEUED).update(status=DS.SKIPPED, error=reason[:500])


def _fast_commits() -> None:
    if connection.vendor == "postgresql" and not settings.TOCSIN_SEND_SYNC_COMMIT:
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit = off")


def _normal_commits() -> None:
    if connection.vendor == "postgresql" and connection.connection is not None:
        with connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")


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


@dataclass
class BatchResult:
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    unknown: int = 0
    stopped: str = ""  # why the batch stopped early ("paused", "cancelled", "lease lost", …)
    retry_error: str = ""  # set when a transient error stopped it: retry later
    ran: bool = True  # False: the batch was done or held by another task
    batch_id: int = 0
    token: str = ""
    stats: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    @property
    def finished(self) -> bool:
        return self.ran and not self.stopped and not self.retry_error


class _Batch:
    """State shared by the sender threads of one batch."""

    def __init__(self, campaign: Campaign, first_id: int, last_id: int, batch_id: int, token: str) -> None:
        self.campaign = campaign
        self.first_id, self.last_id = first_id, last_id
        self.batch_id, self.token = batch_id, token
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.result = BatchResult()
        self.next_check = 0.0
        self.after = first_id - 1
        self.buffer: list[tuple] = []
        self.throttle = Throttle()
        self.renderer = renderer_for(campaign)
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
            self._halt(str(status))
            return
        if not batching.renew(self.batch_id, self.token):
            self._halt("lease lost")
            return
        # Bulletins and appeals make room for an urgent alert: the alert then
        # has the CPU, the pool processes and the provider's rate to itself.
        # The batch steps out (and comes back a moment later) rather than
        # sleeping here, so that it never holds a pool process the alert needs.
        if self.campaign.kind != Campaign.Kind.ALERT and _alert_sending(exclude=self.campaign.pk):
            self._halt(YIELD)

    def _halt(self, reason: str) -> None:
        if not self.result.stopped:
            self.result.stopped = reason
        self.stop.set()

    def next_row(self) -> tuple | None:
        with self.lock:
            if self.stop.is_set():
                return None
            self._control()
            if self.stop.is_set():
                return None
            if not self.buffer:
                self.buffer = batching.queued_rows(
                    self.campaign.pk, self.first_id, self.last_id, after=self.after, limit=CHUNK
                )
                if not self.buffer:
                    return None
                self.after = self.buffer[-1][0]
                self.buffer.reverse()
                if len(self.renderer.lists) > 1:
                    self.list_ids = self.renderer.subscribed_list_ids([row[1] for row in self.buffer])
                # One call per block and chunk (an appeal's suggested amounts: one query); none without blocks.
                self.block_values = self.renderer.block_values_for([row[1] for row in self.buffer])
            return self.buffer.pop()

    def render(self, row: tuple) -> Any:
        """The message for one row of ``batching.queued_rows``, with what this chunk already fetched."""
        return self.renderer.render(
            subscriber=_subscriber(row),
            delivery_id=row[0],
            language=row[2] or None,
            list_ids=self.list_ids.get(row[1]),
            block_values=self.block_values.get(row[1]),
        )

    def count(self, outcome: str) -> None:
        with self.lock:
            if outcome == Outcome.SENT:
                self.result.sent += 1
            elif outcome == Outcome.FAILED:
                self.result.failed += 1
            elif outcome == Outcome.UNKNOWN:
                self.result.unknown += 1

    def transient(self, error: str) -> None:
        with self.lock:
            self.result.retry_error = self.result.retry_error or error
        self.stop.set()

    def permanent(self, classified: Classified) -> None:
        """Per-recipient rejections are normal; a streak of other failures means something is broken."""
        with self.lock:
            if classified.suppress:
                self.permanent_streak = 0
                return
            self.permanent_streak += 1
            if self.permanent_streak >= max(settings.TOCSIN_SEND_MAX_FAILURES, 1) * 2:
                self.result.retry_error = self.result.retry_error or classified.error
                self.stop.set()


def _alert_sending(*, exclude: int) -> bool:
    return (
        Campaign.objects.filter(kind=Campaign.Kind.ALERT, status=Campaign.Status.SENDING).exclude(pk=exclude).exists()
    )


@dataclass(slots=True)
class _Recipient:
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


def _subscriber(row: tuple) -> Subscriber:
    _id, subscriber_id, language, _attempts, email, name, sub_language, _status, tracking = row
    return _Recipient(subscriber_id, email, name, language or sub_language, tracking)  # type: ignore[return-value]


@lru_cache(maxsize=64)
def _domain_of(from_email: str) -> str:
    # parseaddr is pure Python and slow; a campaign has one sender.
    return parseaddr(from_email)[1].rpartition("@")[2] or "tocsin.invalid"


def _message_id(message: Any, campaign_id: int, delivery_id: int) -> str:
    """Our own Message-ID for SMTP, so the ledger knows it before the server answers."""
    if "Message-ID" not in message.extra_headers:
        domain = _domain_of(message.from_email)
        message.extra_headers["Message-ID"] = make_msgid(idstring=f"tocsin.{campaign_id}.{delivery_id}", domain=domain)
    return message.extra_headers["Message-ID"]


def _esp_outcome(message: Any, email: str, fallback_id: str) -> Classified | tuple[str, str]:
    """What an Anymail backend said about this recipient; SMTP just has our Message-ID."""
    status = getattr(message, "anymail_status", None)
    if status is None:
        return Outcome.SENT, fallback_id
    recipient = (status.recipients or {}).get(email)
    if recipient is not None and recipient.status in {"rejected", "invalid"}:
        return Classified(Outcome.FAILED, suppress=True, error=f"provider said {recipient.status}")
    message_id = (recipient.message_id if recipient is not None else None) or status.message_id or fallback_id
    return Outcome.SENT, str(message_id or "")


def _suppress(email: str, error: str) -> None:
    try:
        from subscribers.services import suppress
    except ImportError:  # pragma: no cover - the service is there; keep the engine standalone
        from subscribers.models import email_hash

        Suppression.objects.get_or_create(
            email_hash=email_hash(email), defaults={"reason": Suppression.Reason.REJECTED, "detail": error[:255]}
        )
        return
    suppress(email=email, reason=Suppression.Reason.REJECTED, detail=error[:255])


def _sender(state: _Batch, connection_factory: Callable[[], Any]) -> None:
    """One sender: one email connection, at most one delivery in ``sending`` at a time."""
    stats = state.result.stats if settings.TOCSIN_SEND_STATS else None
    email_connection = connection_factory()
    pending: Done | None = None
    clock = time.perf_counter
    try:
        _fast_commits()
        while True:
            row = state.next_row()
            if row is None:
                break
            delivery_id, email, status = row[0], row[4], row[7]
            if status != Subscriber.Status.CONFIRMED:
                skip(delivery_id, f"subscriber is {status}")
                with state.lock:
                    state.result.skipped += 1
                continue
            state.throttle.wait()
            t0 = clock()
            claimed = advance(pending, delivery_id)
            pending = None
            t1 = clock()
            if not claimed:
                continue  # another worker took it, or the person left a moment ago
            try:
                message = state.render(row)
                fallback_id = _message_id(message, state.campaign.pk, delivery_id)
                t2 = clock()
                built = envelope_and_bytes(message) if isinstance(email_connection, SMTPBackend) else None
                if built is not None:
                    # Django's SMTP backend, minus its slow serialiser (campaigns/sending/mime.py)
                    # and smtplib's four round trips per message (campaigns/sending/smtp.py).
                    if email_connection.connection is None:
                        email_connection.open()
                    smtp.send(email_connection.connection, *built)
                else:
                    email_connection.send_messages([message])
                t3 = clock()
                verdict = _esp_outcome(message, email, fallback_id)
            except Exception as exc:
                t2 = t3 = clock()
                verdict = classify(exc)
                logger.warning("campaign %s delivery %s: %s", state.campaign.pk, delivery_id, verdict.error)
            if isinstance(verdict, tuple):
                pending = Done(delivery_id, Outcome.SENT, esp_message_id=verdict[1])
                state.count(Outcome.SENT)
            else:
                pending = Done(delivery_id, verdict.outcome, error=verdict.error)
                state.count(verdict.outcome)
                if verdict.outcome == Outcome.RETRY:
                    state.transient(verdict.error)
                    _close_quietly(email_connection)
                    email_connection = connection_factory()
                elif verdict.outcome == Outcome.FAILED:
                    state.permanent(verdict)
                    if verdict.suppress:
                        advance(pending, None)
                        pending = None
                        _suppress(email, verdict.error)
            if stats is not None:
                with state.lock:
                    stats["db"] += t1 - t0
                    stats["render"] += t2 - t1
                    stats["send"] += t3 - t2
                    stats["messages"] += 1
        if pending is not None:
            advance(pending, None)
    finally:
        _close_quietly(email_connection)
        try:
            _normal_commits()
        except Exception:  # the connection may be gone; the next use reconnects
            logger.debug("could not reset synchronous_commit", exc_info=True)


def _close_quietly(email_connection: Any) -> None:
    try:
        email_connection.close()
    except Exception:  # a dead SMTP connection raises on QUIT; nothing is lost
        logger.debug("closing the email connection failed", exc_info=True)


def _threaded(
    state: _Batch, threads: int, connection_factory: Callable[[], Any], sender: Callable[..., None] | None = None
) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            (sender or _sender)(state, connection_factory)
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


def run_batch(
    campaign_id: int,
    first_id: int,
    last_id: int,
    *,
    lease: str | None = None,
    connection_factory: Callable[[], Any] | None = None,
    threads: int | None = None,
) -> BatchResult:
    """Send every still-queued delivery of one batch; safe to run twice or concurrently."""
    acquired = batching.acquire(campaign_id=campaign_id, first_id=first_id, last_id=last_id, lease=lease)
    if acquired is None:
        return BatchResult(ran=False, stopped="done or held by another task")
    batch_id, token = acquired
    campaign = Campaign.objects.get(pk=campaign_id)
    if campaign.status != Campaign.Status.SENDING:
        batching.release(batch_id, token, done=False)
        return BatchResult(stopped=str(campaign.status))
    state = _Batch(campaign, first_id, last_id, batch_id, token)
    factory = connection_factory or (lambda: get_connection(fail_silently=False))
    threads = threads or settings.TOCSIN_SEND_THREADS
    sender: Callable[..., None] = _sender
    if connection_factory is None and provider_batch.enabled():
        # A provider with a batch API: many rendered messages per HTTP call (campaigns/sending/provider_batch.py).
        sender, factory, threads = provider_batch.sender, provider_batch.transport, provider_batch.threads(threads)
    try:
        if threads <= 1:
            sender(state, factory)
        else:
            _threaded(state, threads, factory, sender)
    except BaseException:
        batching.release(batch_id, token, done=False, failed=True)
        raise
    result = state.result
    result.batch_id, result.token = batch_id, token
    if settings.TOCSIN_SEND_STATS and result.stats:
        _publish_stats(campaign_id, result.stats)
    if result.retry_error or result.stopped == YIELD:
        return result  # after_transient() / step_aside() decide when it comes back, keeping the lease
    batching.release(batch_id, token, done=not result.stopped)
    return result


def _publish_stats(campaign_id: int, stats: dict[str, float]) -> None:
    """Per-stage seconds, summed in Redis across workers (the benchmark reads them)."""
    from campaigns.sending.throttle import _client

    client = _client(settings.REDIS_URL)
    key = f"tocsin:send-stats:{campaign_id}"
    with client.pipeline() as pipe:
        for name, seconds in stats.items():
            pipe.hincrbyfloat(key, name, seconds)
        pipe.expire(key, 86400)
        pipe.execute()


def after_transient(result: BatchResult, *, campaign_id: int) -> tuple[float, str] | None:
    """A transient failure stopped the batch: back off, or pause the campaign after N in a row.

    Returns ``(delay, lease)`` for re-enqueueing the batch with a countdown, or
    None when the campaign was paused. The batch stays leased through the
    back-off, so the sweeper does not hand it out early — and re-queues it if
    the delayed task is lost.
    """
    if result.sent:
        # Progress since the last failure: this is a new streak, not the same outage.
        batching.SendBatch.objects.filter(pk=result.batch_id).update(failures=0)
    failures = batching.record_failure(result.batch_id)
    if failures >= settings.TOCSIN_SEND_MAX_FAILURES:
        batching.release(result.batch_id, result.token, done=False, failed=True)
        from campaigns import lifecycle

        reason = f"Paused after {failures} failed attempts in a row: {result.retry_error}"[:300]
        lifecycle.pause_after_failures(campaign_id=campaign_id, reason=reason)
        logger.error("campaign %s paused: %s", campaign_id, reason)
        return None
    delay = backoff(failures)
    token = batching.hold_for_retry(result.batch_id, result.token, seconds=delay)
    return (delay, token) if token else None


def step_aside(result: BatchResult) -> str:
    """A batch that yielded to an alert: keep it leased for a moment; the lease for its delayed task."""
    return batching.hold_for_retry(result.batch_id, result.token, seconds=YIELD_SECONDS)


def backoff(failures: int) -> float:
    """Exponential back-off with full jitter, capped far inside Redis's visibility timeout."""
    ceiling = min(settings.TOCSIN_SEND_RETRY_MAX, settings.TOCSIN_SEND_RETRY_BASE * (2 ** max(failures - 1, 0)))
    return random.uniform(ceiling / 2, ceiling)
