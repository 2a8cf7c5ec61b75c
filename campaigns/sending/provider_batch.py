"""Step 4 for providers with a batch API: many fully rendered messages in ONE HTTP call.

Why not Anymail's own batch sending: Anymail batches one ``EmailMessage``
with per-recipient ``merge_data`` / ``merge_metadata`` / ``merge_headers`` —
the subject and bodies are shared and only a provider-side template can vary
them. Tocsin renders every body itself (names, signed unsubscribe and
tracking links), so each recipient's message is different. Postmark's
``POST /email/batch`` takes up to 500 *independent* messages per call, which
is exactly that; Anymail just has no API for "a list of messages". So this
module builds each element with Anymail's own Postmark payload builder
(headers, metadata, tag, tracking flags, reply-to, message stream are
therefore identical to what ``send_messages`` would post to ``/email``) and
posts the list itself.

The ledger discipline is the same as the one-message path in
``campaigns/sending/engine.py``, per call instead of per message:

- the group's deliveries are claimed (``queued → sending``) by one
  conditional UPDATE that is committed BEFORE the call;
- the call runs outside any transaction;
- every outcome of the call is recorded in one transaction afterwards.

A worker killed mid-call leaves exactly that call's messages in ``sending``
(the sweeper makes them ``unknown``), which the SPEC allows ("one provider
batch call"). Rendering happens before the claim, so a crash while rendering
leaves the rows ``queued`` and they are sent later, once.

Outcomes of one call:

- HTTP 200 and a list with one answer per message, in order (Postmark's
  contract): ``ErrorCode`` 0 → sent, with its ``MessageID``; 406 (inactive
  recipient) and 300 about the ``To`` address → failed and suppressed; 300
  about anything else → failed (our message is wrong); any other code →
  back to the queue (not sent: only code 0 sends), and the batch retries
  with back-off, pausing the campaign after N failures in a row;
- 408, 429, 5xx, 401/403 (a bad token is an outage of ours), 422 for the
  whole call: nothing was sent → all back to the queue, same back-off;
- no connection could be made → all back to the queue;
- the request went out but the answer was lost (read timeout, reset) or
  makes no sense (not JSON, wrong length, another address) → ``unknown``:
  the provider may have sent them, so they are never re-sent blindly.
"""

# The SQL here is built from the model's table name and code constants; every value is a parameter.
# ruff: noqa: S608
from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.utils import parseaddr
from functools import lru_cache, partial
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

import requests
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from campaigns.models import Delivery
from subscribers.models import Subscriber

if TYPE_CHECKING:
    from campaigns.sending.engine import _Batch

logger = logging.getLogger(__name__)

DS = Delivery.Status
_TABLE = Delivery._meta.db_table

# Providers whose batch endpoint takes independent messages, and its documented maximum per call.
MAX_PER_CALL = {"postmark": 500}


def enabled() -> bool:
    """Whether campaign batches go through a provider batch call (``TOCSIN_SEND_ESP_BATCH`` > 1)."""
    return settings.ESP in MAX_PER_CALL and per_call() > 1


def per_call() -> int:
    return min(int(getattr(settings, "TOCSIN_SEND_ESP_BATCH", 100)), MAX_PER_CALL.get(settings.ESP, 1))


def threads(configured: int) -> int:
    """Sender threads per Celery batch: enough for every call of a batch to be in flight at once."""
    calls = math.ceil(settings.TOCSIN_SEND_BATCH_SIZE / max(per_call(), 1))
    return max(1, min(configured, calls))


def transport() -> PostmarkBatch:
    """The transport for the configured provider (only Postmark for now)."""
    return PostmarkBatch()


# --- one provider call -------------------------------------------------------------------


@dataclass
class Verdict:
    """What the provider said about one message of a call (``outcome`` is a ``sending.Outcome``)."""

    outcome: str
    message_id: str = ""
    suppress: bool = False
    error: str = ""


SENT, FAILED, RETRY, UNKNOWN = "sent", "failed", "retry", "unknown"  # == sending.Outcome values

# Postmark says "Invalid 'To' address: 'x'." or "Error parsing 'To': Illegal email …" for a bad
# recipient (the same test as Anymail's Postmark backend).
_RECIPIENT_ERROR = re.compile(r"^(Invalid|Error\s+parsing)\s+'(To|Cc|Bcc)'", re.IGNORECASE)
_INACTIVE = re.compile(r"inactive addresses:\s*(.*?)\.\s*Inactive recipients", re.IGNORECASE | re.DOTALL)


@lru_cache(maxsize=64)
def _parsed_addresses(addresses: tuple[str, ...], field: str) -> list[Any]:
    from anymail.utils import parse_address_list

    return parse_address_list(list(addresses), field=field)


def _same_addresses(value: Any, *, field: str) -> list[Any]:
    """Anymail's ``parse_address_list``, memoized for the From and Reply-To every message of a campaign shares.

    Parsing addresses with the ``email`` package was the largest part of
    building a payload (profiled: ~40% of 0.31 ms per message).
    """
    from anymail.utils import parse_address_list

    items = [value] if isinstance(value, str) else value
    if isinstance(items, list | tuple) and all(type(item) is str for item in items):
        return _parsed_addresses(tuple(items), field)
    return parse_address_list(value, field=field)


def _payload_class() -> type:
    """Anymail's PostmarkPayload with the From and Reply-To parsing memoized; every other field untouched."""
    from anymail.backends.postmark import PostmarkPayload

    class Payload(PostmarkPayload):
        base_message_attrs = tuple(
            (attr, combiner, partial(_same_addresses, field=attr) if attr in ("from_email", "reply_to") else converter)
            for attr, combiner, converter in PostmarkPayload.base_message_attrs
        )

    return Payload


class PostmarkBatch:
    """``POST /email/batch`` with elements built by Anymail's Postmark backend."""

    endpoint = "email/batch"

    def __init__(self) -> None:
        from anymail.backends.postmark import EmailBackend

        self.backend = EmailBackend(fail_silently=False)
        self.backend.open()  # a requests.Session with Anymail's User-Agent, kept alive between calls
        self.url = urljoin(self.backend.api_url, self.endpoint)
        self.max_per_call = per_call()
        self._serializer: Any = None
        self._payload = _payload_class()

    def element(self, message: Any) -> tuple[dict[str, Any], str]:
        """(the JSON object Anymail would post to ``/email`` for ``message``, its server token).

        Raises what Anymail raises for a message it cannot send (an invalid
        address, an unsupported feature): the caller records that message as failed.
        """
        # What EmailBackend.build_message_payload() does, with the faster address parsing.
        payload = self._payload(message, self.backend.send_defaults, self.backend)
        if self._serializer is None:
            self._serializer = payload  # its serialize_json() is Anymail's json.dumps, with its error context
        return payload.data, payload.server_token

    def send(self, elements: Sequence[dict[str, Any]], token: str) -> list[Verdict]:
        """Post one call; one verdict per element, in order. Never raises for what the provider does."""
        if not elements:
            return []
        body = self._serializer.serialize_json(list(elements))
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "X-Postmark-Server-Token": token,
        }
        try:
            response = self.backend.session.post(self.url, data=body, headers=headers, timeout=self.backend.timeout)
        except requests.RequestException as exc:
            return [_lost_call(exc)] * len(elements)
        if response.status_code != 200:
            # A whole-call refusal sends nothing: retry, and let N of them in a row pause the campaign
            # with this reason rather than mark every recipient of the list failed.
            error = f"Postmark batch call: HTTP {response.status_code} {response.text[:300]}"
            return [Verdict(RETRY, error=error)] * len(elements)
        try:
            answers = response.json()
        except ValueError:
            answers = None
        if not isinstance(answers, list) or len(answers) != len(elements):
            return [Verdict(UNKNOWN, error=f"Postmark batch call: unreadable answer {response.text[:200]!r}")] * len(
                elements
            )
        verdicts = [_verdict(answer, element) for answer, element in zip(answers, elements, strict=True)]
        if any(v is None for v in verdicts):
            # One answer that does not match its message (another address, no MessageID):
            # the order cannot be trusted, so no answer of this call can be.
            return [Verdict(UNKNOWN, error=f"Postmark batch call: inconsistent answer {response.text[:200]!r}")] * len(
                elements
            )
        return verdicts  # type: ignore[return-value]

    def close(self) -> None:
        self.backend.close()


def _lost_call(exc: requests.RequestException) -> Verdict:
    error = f"Postmark batch call: {type(exc).__name__}: {exc}"[:500]
    # Nothing left this machine when the connection could not be made: safe to retry.
    if isinstance(exc, requests.ConnectTimeout) or _refused(exc):
        return Verdict(RETRY, error=error)
    # Otherwise the request may have reached Postmark and been accepted before the answer was lost.
    return Verdict(UNKNOWN, error=error)


def _refused(exc: BaseException) -> bool:
    from urllib3.exceptions import NewConnectionError

    seen: BaseException | None = exc
    for _depth in range(6):  # requests wraps urllib3's MaxRetryError, which wraps the cause
        if seen is None:
            return False
        if isinstance(seen, NewConnectionError | ConnectionRefusedError):
            return True
        reason = getattr(seen, "reason", None)
        if isinstance(reason, BaseException):
            seen = reason
            continue
        args = getattr(seen, "args", ())
        seen = args[0] if args and isinstance(args[0], BaseException) else (seen.__cause__ or seen.__context__)
    return False


def _verdict(answer: Any, element: dict[str, Any]) -> Verdict | None:
    """One message's answer; None when it cannot belong to this message."""
    if not isinstance(answer, dict):
        return None
    code = answer.get("ErrorCode", 0)  # missing when Postmark only delays delivery (Anymail's note)
    text = str(answer.get("Message", ""))
    ours = parseaddr(str(element.get("To", "")))[1].lower()
    if code == 0:
        message_id = answer.get("MessageID")
        to = parseaddr(str(answer.get("To", element.get("To", ""))))[1].lower()
        if not message_id or (to and ours and to != ours):
            return None
        inactive = _INACTIVE.search(text)
        if inactive and ours in {a.strip().lower() for a in inactive.group(1).split(",")}:
            return Verdict(FAILED, suppress=True, error=f"Postmark: {text}"[:500])
        return Verdict(SENT, message_id=str(message_id))
    error = f"Postmark ErrorCode {code}: {text}"[:500]
    if code == 406:  # inactive recipient: a hard bounce or a spam complaint before
        return Verdict(FAILED, suppress=True, error=error)
    if code == 300:
        return Verdict(FAILED, suppress=bool(_RECIPIENT_ERROR.match(text)), error=error)
    # Any other code (405 out of credits, 429, …) means this message was not sent: try again later.
    return Verdict(RETRY, error=error)


# --- the ledger, one call at a time ----------------------------------------------------------


def claim(delivery_ids: Sequence[int]) -> set[int]:
    """``queued → sending`` for the rows still queued; committed before the call. The ids won."""
    if not delivery_ids:
        return set()
    marks = ", ".join(["%s"] * len(delivery_ids))
    sql = (
        f"UPDATE {_TABLE} SET status = %s, claimed_at = %s, attempts = attempts + 1 "
        f"WHERE id IN ({marks}) AND status = %s RETURNING id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [DS.SENDING, timezone.now(), *delivery_ids, DS.QUEUED])
        return {row[0] for row in cursor.fetchall()}


_STATUS_FOR = {SENT: DS.SENT, FAILED: DS.FAILED, UNKNOWN: DS.UNKNOWN, RETRY: DS.QUEUED}
_RECORD_SQL = f"""
UPDATE {_TABLE} SET status = %s, claimed_at = CASE WHEN %s THEN NULL ELSE claimed_at END,
  sent_at = %s, esp_message_id = %s, error = %s
WHERE id = %s AND status IN ('{DS.SENDING}', '{DS.UNKNOWN}')
"""


def record(outcomes: Sequence[tuple[int, Verdict]]) -> None:
    """Every outcome of one call in one transaction (one commit, ``synchronous_commit`` as the caller set it).

    Like ``sending.advance``, an outcome also lands on a row the sweeper has
    meanwhile called ``unknown``: the worker was slow, not dead, and knows.
    """
    if not outcomes:
        return
    now = timezone.now()
    rows = [
        (
            _STATUS_FOR[v.outcome],
            v.outcome == RETRY,
            now if v.outcome == SENT else None,
            v.message_id[:255],
            v.error[:500],
            delivery_id,
        )
        for delivery_id, v in outcomes
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(_RECORD_SQL, rows)


# --- the sender thread ---------------------------------------------------------------------


def _take(state: _Batch, limit: int) -> list[tuple]:
    """Up to ``limit`` rows of people still subscribed; the others are skipped on the spot."""
    from campaigns.sending.engine import skip

    rows: list[tuple] = []
    while len(rows) < limit:
        row = state.next_row()  # checks pause / cancel / lease / alerts every half second
        if row is None:
            break
        if row[7] != Subscriber.Status.CONFIRMED:
            skip(row[0], f"subscriber is {row[7]}")
            with state.lock:
                state.result.skipped += 1
            continue
        rows.append(row)
    return rows


def sender(state: _Batch, transport_factory: Callable[[], Any]) -> None:
    """One sender thread of a batch: groups of up to ``per_call()`` messages, one provider call each.

    Has the signature of ``sending._sender`` so that ``sending._threaded`` runs it.
    """
    from campaigns.sending.engine import Classified, _fast_commits, _normal_commits, _suppress, classify

    stats = state.result.stats if settings.TOCSIN_SEND_STATS else None
    clock = time.perf_counter
    link = transport_factory()
    try:
        _fast_commits()
        while True:
            rows = _take(state, link.max_per_call)
            if not rows or state.stop.is_set():
                break  # rows taken but not claimed stay queued: a pause leaves them for the resume
            state.throttle.wait(len(rows))
            t0 = clock()
            elements: list[tuple[int, dict[str, Any]]] = []
            outcomes: list[tuple[int, Verdict]] = []
            token = ""
            for row in rows:
                delivery_id = row[0]
                try:
                    message = state.render(row)
                    element, token = link.element(message)
                except Exception as exc:  # an address Anymail refuses, a template bug: this one only
                    verdict = classify(exc)
                    logger.warning("campaign %s delivery %s: %s", state.campaign.pk, delivery_id, verdict.error)
                    outcomes.append(
                        (delivery_id, Verdict(verdict.outcome, suppress=verdict.suppress, error=verdict.error))
                    )
                else:
                    elements.append((delivery_id, element))
            t1 = clock()
            won = claim([row[0] for row in rows])
            elements = [(d, e) for d, e in elements if d in won]
            outcomes = [(d, v) for d, v in outcomes if d in won]
            t2 = clock()
            verdicts = link.send([e for _d, e in elements], token)
            outcomes += [(d, v) for (d, _e), v in zip(elements, verdicts, strict=True)]
            t3 = clock()
            record(outcomes)
            emails = {row[0]: row[4] for row in rows}
            for delivery_id, said in outcomes:
                state.count(said.outcome)
                if said.outcome == RETRY:
                    state.transient(said.error)
                elif said.outcome == FAILED:
                    state.permanent(Classified(said.outcome, suppress=said.suppress, error=said.error))
                    if said.suppress:
                        _suppress(emails[delivery_id], said.error)
                elif said.outcome == UNKNOWN:
                    logger.warning("campaign %s delivery %s unknown: %s", state.campaign.pk, delivery_id, said.error)
            if stats is not None:
                with state.lock:
                    stats["render"] += t1 - t0
                    stats["db"] += (t2 - t1) + (clock() - t3)
                    stats["send"] += t3 - t2
                    stats["messages"] += len(rows)
                    stats["calls"] += 1
    finally:
        try:
            link.close()
        except Exception:  # closing a session never loses a message
            logger.debug("closing the provider session failed", exc_info=True)
        try:
            _normal_commits()
        except Exception:  # the connection may be gone; the next use reconnects
            logger.debug("could not reset synchronous_commit", exc_info=True)
