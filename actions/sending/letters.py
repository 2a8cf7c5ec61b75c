"""Each letter as it comes: claim → send → record, one letter at a time over one connection.

``deliver(ids)`` is what a task runs for a few letters (one signature's, or
a chunk the sweeper queued). It is safe to run twice or concurrently: a
letter that is no longer pending, not yet due, or claimed by another worker
is passed over. A transient failure (the server said "try later", the
connection dropped) stops the run and hands the rest back to the task,
which retries them with back-off; permanent failures are recorded and the
run goes on.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from actions.bounces import BY_HAND_REASON, DO_NOT_EMAIL_REASON, LETTER
from actions.ledger import Letter, LetterStatus
from actions.models import Action
from actions.sending import claims, messages, transport
from campaigns.sending.throttle import Throttle

logger = logging.getLogger(__name__)

L = LetterStatus

FIELDS = (
    "id",
    "attempts",
    "test_to",
    "action_id",
    "action__delivery_mode",
    "action__daily_cap",
    "target_id",
    "target__name",
    "target__email",
    "target__language",
    "target__do_not_email",
    "target__bouncing_since",
    "target__active",
    "signature__name",
    "signature__email",
    "signature__postal_code",
    "signature__city",
    "signature__message",
    "signature__letter_subject",
    "signature__letter_body",
    "signature__language",
    "signature__erased_at",
    "signature__district__name",
    "signature__district__province",
)


@dataclass
class DeliverResult:
    sent: int = 0
    failed: int = 0
    unknown: int = 0
    skipped: int = 0
    deferred: int = 0  # over a daily cap, the action's or the organisation's (or now in digest mode): left for later
    retry_error: str = ""
    retry_ids: list[int] = field(default_factory=list)

    def count(self, status: str) -> None:
        if status == L.SENT:
            self.sent += 1
        elif status == L.FAILED:
            self.failed += 1
        elif status == L.UNKNOWN:
            self.unknown += 1

    def summary(self) -> dict[str, int | str]:
        return {
            "sent": self.sent,
            "failed": self.failed,
            "unknown": self.unknown,
            "skipped": self.skipped,
            "deferred": self.deferred,
            "retry": len(self.retry_ids),
        }


def supporter_of(row: dict[str, Any]) -> messages.Supporter:
    return messages.Supporter(
        name=row["signature__name"],
        email=row["signature__email"],
        postal_code=row["signature__postal_code"],
        # The city the supporter gave, else what their district says of where they live.
        place=messages.one_line(row["signature__city"])
        or messages.place_of(row["signature__district__name"], row["signature__district__province"]),
        message=row["signature__message"],
        subject=row["signature__letter_subject"],
        body=row["signature__letter_body"],
        language=row["signature__language"],
    )


def recipient_of(row: dict[str, Any]) -> messages.Recipient:
    return messages.Recipient(name=row["target__name"], email=row["target__email"], language=row["target__language"])


def pending_rows(ids: list[int]) -> list[dict[str, Any]]:
    return list(Letter.objects.filter(pk__in=ids, status=L.PENDING, digest__isnull=True).order_by("id").values(*FIELDS))


def _settled(row: dict[str, Any]) -> bool:
    """A letter that will not be emailed on its own after all; True once it is dealt with."""
    if row["signature__erased_at"] is not None:
        claims.settle(row["id"], L.SKIPPED, "erased (GDPR)")
        return True
    if row["test_to"]:
        return False  # test letters go to the test address whatever the target
    if row["target__do_not_email"]:
        claims.settle(row["id"], L.BY_HAND, DO_NOT_EMAIL_REASON)
        return True
    if row["target__bouncing_since"] is not None:
        claims.settle(row["id"], L.BY_HAND, BY_HAND_REASON)
        return True
    if not row["target__active"]:
        claims.settle(row["id"], L.SKIPPED, "the target is no longer active")
        return True
    return False


def _claim(row: dict[str, Any], finished: claims.Done | None) -> str:
    """Claim ``row`` (recording ``finished`` in the same statement when no daily cap applies)."""
    cap, overall = row["action__daily_cap"], claims.overall_cap()
    if (cap or overall) and not row["test_to"]:  # test letters go to staff: never capped
        claims.advance(finished, None)
        return claims.claim_within_cap(
            row["id"], action_id=row["action_id"], target_id=row["target_id"], cap=cap, overall=overall
        )
    return claims.CLAIMED if claims.advance(finished, row["id"]) else claims.LOST


def _send_one(connection: Any, row: dict[str, Any]) -> transport.Verdict:
    try:
        message = messages.letter_message(
            letter_id=row["id"], supporter=supporter_of(row), target=recipient_of(row), test_to=row["test_to"]
        )
    except Exception as exc:  # an address no header can hold: recorded as failed, never retried blindly
        return transport.failure(exc)
    return transport.send(connection, message, kind=LETTER, row_id=row["id"])


def deliver(ids: list[int], *, connection_factory: Callable[[], Any] | None = None) -> DeliverResult:
    """Send each of ``ids`` that is still pending and due, once."""
    result = DeliverResult()
    rows = pending_rows(ids)
    if not rows:
        return result
    throttle = Throttle()
    connection = (connection_factory or transport.open_connection)()
    finished: claims.Done | None = None  # recorded with the next claim: one statement per letter
    try:
        with claims.fast_commits():
            for index, row in enumerate(rows):
                if _passed_over(row, result):
                    continue
                throttle.wait()  # before the claim: a letter never waits for its turn in "sending"
                claimed = _claim(row, finished)
                finished = None
                if claimed != claims.CLAIMED:
                    result.deferred += claimed == claims.CAPPED
                    continue
                verdict = _send_one(connection, row)
                finished = claims.done(row["id"], verdict, attempts=row["attempts"] + 1)
                result.count(finished.status)
                if verdict.outcome == transport.RETRY:
                    logger.warning("letter %s: %s", row["id"], verdict.error)
                    result.retry_error = verdict.error
                    result.retry_ids = [later["id"] for later in rows[index:]]
                    break
                if verdict.outcome != transport.SENT:
                    logger.warning("letter %s: %s: %s", row["id"], verdict.outcome, verdict.error)
            claims.advance(finished, None)
            finished = None
    finally:
        if finished is not None:  # an error after the send: still say what became of that letter
            with contextlib.suppress(Exception):
                claims.advance(finished, None)
        transport.close_quietly(connection)
    return result


def _passed_over(row: dict[str, Any], result: DeliverResult) -> bool:
    """A letter this run does not send: settled otherwise, or now left to the day's digest."""
    if _settled(row):
        result.skipped += 1
        return True
    if not row["test_to"] and row["action__delivery_mode"] == Action.DeliveryMode.DIGEST:
        claims.release([row["id"]])  # switched to digests since it was queued
        result.deferred += 1
        return True
    return False
