"""The delivery ledger's statements: claim a row, record its outcome — the ledger, not the broker, says what was sent.

One ``Delivery`` row per recipient, written by the snapshot; its status is
the only record of what happened. The discipline that makes a send
exactly-once "as far as physics allows":

- a delivery is claimed (``queued → sending``) by a conditional UPDATE that
  only one transaction can win, and that claim is COMMITTED before the
  message goes on the wire;
- the message is sent outside any transaction (no network I/O while holding
  locks), then its outcome is recorded — one message at a time in the same
  statement that claims the next (``advance``), or a provider call's group
  at once (``claim`` then ``record``);
- a worker killed mid-send therefore leaves in ``sending`` only what was
  inside one transport call (one message per open SMTP connection, or one
  provider batch call): ``mark_stale_unknown`` turns those into ``unknown``
  after ``TOCSIN_SEND_CLAIM_TIMEOUT`` and nothing re-sends them blindly;
  every other row is ``queued`` (sent later, once) or final.

On Postgres the tiny commits of a send run with ``synchronous_commit = off``
(``fast_commits``): the commit returns before the WAL reaches the disk. A
killed *worker* loses nothing (the server holds the commit); a crashed
*Postgres server* may forget the last few hundred milliseconds of
transitions, so a handful of messages could be sent a second time after a
database crash. We accept that trade for a several-fold cheaper claim; set
``TOCSIN_SEND_SYNC_COMMIT=1`` to refuse it.
"""

# The SQL here is built from model table names and code constants; every value is a parameter.
# ruff: noqa: S608
from __future__ import annotations

import re
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from campaigns.models import Campaign, Delivery
from campaigns.sending.outcomes import DELIVERY_STATUS, Classified, Outcome

DS = Delivery.Status
_TABLE = Delivery._meta.db_table

# Recording one outcome and claiming the next row is ONE statement, so that in
# autocommit it is one round trip and one commit: the claim wins only when the
# row is still queued, the outcome lands only on the row this worker claimed
# (or that the sweeper meanwhile called unknown). RETURNING says which won.
ADVANCE_SQL = f"""
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


@dataclass
class Done:
    """A sent (or refused) message whose outcome is still to be written."""

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
        "status": DELIVERY_STATUS[done.outcome] if done is not None else DS.SENDING,
        "now": timezone.now(),
        "sent_at": timezone.now() if done is not None and done.outcome == Outcome.SENT else None,
        "esp": done.esp_message_id[:255] if done is not None else "",
        "error": done.error[:500] if done is not None else "",
    }
    if connection.vendor == "postgresql":
        rows = execute_prepared(ADVANCE, params)
    else:
        with connection.cursor() as cursor:
            cursor.execute(ADVANCE_SQL, params)
            rows = cursor.fetchall()
    return claim_id is not None and any(int(row[0]) == claim_id for row in rows)


def claim(delivery_ids: Sequence[int]) -> set[int]:
    """``queued → sending`` for the rows still queued, for one provider call; committed before it. The ids won."""
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


_RECORD_SQL = f"""
UPDATE {_TABLE} SET status = %s, claimed_at = CASE WHEN %s THEN NULL ELSE claimed_at END,
  sent_at = %s, esp_message_id = %s, error = %s
WHERE id = %s AND status IN ('{DS.SENDING}', '{DS.UNKNOWN}')
"""


def record(outcomes: Sequence[tuple[int, Classified]]) -> None:
    """Every outcome of one provider call in one transaction (one commit, ``synchronous_commit`` as the caller set).

    Like ``advance``, an outcome also lands on a row the sweeper has
    meanwhile called ``unknown``: the worker was slow, not dead, and knows.
    """
    if not outcomes:
        return
    now = timezone.now()
    rows = [
        (
            DELIVERY_STATUS[v.outcome],
            v.outcome == Outcome.RETRY,
            now if v.outcome == Outcome.SENT else None,
            v.message_id[:255],
            v.error[:500],
            delivery_id,
        )
        for delivery_id, v in outcomes
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(_RECORD_SQL, rows)


def skip(delivery_id: int, reason: str) -> None:
    """A recipient who left (or was suppressed) after the snapshot: never sent, and says why."""
    Delivery.objects.filter(pk=delivery_id, status=DS.QUEUED).update(status=DS.SKIPPED, error=reason[:500])


def mark_stale_unknown() -> int:
    """Rows a dead worker left in ``sending``: unknown — shown to staff, never re-sent blindly."""
    S = Campaign.Status
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


# --- commit modes ------------------------------------------------------------------------


def fast_commits() -> None:
    """For this connection's sends: commits that do not wait for the disk (see the module's note)."""
    if connection.vendor == "postgresql" and not settings.TOCSIN_SEND_SYNC_COMMIT:
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit = off")


def normal_commits() -> None:
    if connection.vendor == "postgresql" and connection.connection is not None:
        with connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")


# --- libpq's prepared statements ---------------------------------------------------------


class PreparedStatement:
    """One SQL statement with named ``%(name)s`` parameters, as a libpq prepared statement."""

    def __init__(self, name: str, sql: str) -> None:
        self.name = name.encode()
        self.order: list[str] = []

        def number(match: re.Match[str]) -> str:
            if match[1] not in self.order:
                self.order.append(match[1])
            return f"${self.order.index(match[1]) + 1}"

        self.sql = re.sub(r"%\((\w+)\)s", number, sql).encode()


ADVANCE = PreparedStatement("tocsin_advance", ADVANCE_SQL)
_prepared_on: weakref.WeakKeyDictionary[Any, set[bytes]] = weakref.WeakKeyDictionary()


def _text(value: Any) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat().encode()
    return str(value).encode()


def execute_prepared(statement: PreparedStatement, params: dict[str, Any]) -> list[tuple]:
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
