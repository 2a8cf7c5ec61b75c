"""The frequency cap: nobody gets more than ``TOCSIN_FREQUENCY_CAP`` emails in its window.

``2/7d`` means: a person who already received two emails in the last seven
days is left out of a bulletin or an appeal (and of a journey's email). What
counts is what the ledger says was sent: rows ``sent``, by ``sent_at``,
whatever sent them (a failed or skipped row never counts). Kinds listed in
``TOCSIN_FREQUENCY_CAP_EXEMPT`` (alerts, by default) are never held back,
though what they send counts like the rest.

Counting those rows at snapshot time meant grouping every sent row of the
window by person (2.5 million for weekly mail to a million people: 6-9 s per
count). So each person's latest sends are kept apart, in ``RecentSends``
(one row per person, ``RECENT_SENDS`` slots of sent_at and campaign, kept in
time order, newest first): the engine adds a batch's sent rows with ONE
statement when the batch ends (``note_batch``), before the batch is marked
done, so a worker killed in between leaves the batch to be run, and noted,
again (adding is idempotent: a campaign already in a person's slots is not
added twice). The audience snapshot then applies the cap as one anti-join on
that table (``condition``): a person is over a cap of n when their n-th slot
is in the window. No grouping, one column compared. Rolling the ledger up
does not touch the table.

A cap of more than ``RECENT_SENDS`` emails per window (or of exactly that
many, for a re-run snapshot, which leaves the campaign's own sends out)
cannot be read from the slots; it is counted from the ledger as before (the partial index
``delivery_sent_recently``: sent rows by time). Journeys call
``capped_among`` for the people they are about to mail.
"""

# The SQL here is built from model table names and code constants; every value is a parameter.
# ruff: noqa: S608
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from campaigns.models import RECENT_SENDS, Delivery, RecentSends


@dataclass(frozen=True)
class Cap:
    count: int
    window: timedelta

    def since(self, now: datetime | None = None) -> datetime:
        return (now or timezone.now()) - self.window


def current_cap() -> Cap | None:
    """The cap in force (``TOCSIN_FREQUENCY_CAP``), or None."""
    value = settings.TOCSIN_FREQUENCY_CAP
    if not value:
        return None
    count, hours = value
    return Cap(count=int(count), window=timedelta(hours=int(hours)))


def applies_to(kind: str) -> bool:
    """Whether emails of this kind (a campaign's kind, or "journey") are held back by the cap."""
    return current_cap() is not None and kind not in settings.TOCSIN_FREQUENCY_CAP_EXEMPT


def _slots_read(cap: Cap, *, exclude_campaign: int | None) -> bool:
    """Whether ``RecentSends`` holds enough of each person's sends to tell who is over ``cap``."""
    return cap.count + (0 if exclude_campaign is None else 1) <= RECENT_SENDS


def _nth_latest_sql(cap: Cap, *, exclude_campaign: int | None) -> tuple[str, list[Any]]:
    """The time of ``r``'s ``cap.count``-th latest send (a RecentSends row), not counting ``exclude_campaign``'s.

    The slots are sorted, newest first: a person has ``n`` sends in the
    window exactly when the n-th slot is in it. A campaign's own earlier send
    (a re-run snapshot) is not "already received": when it is among the first
    n slots, the (n+1)-th counts instead.
    """
    n = cap.count
    if exclude_campaign is None:
        return f"r.sent_{n}", []
    own = " OR ".join(f"r.campaign_{slot} = %s" for slot in range(1, n + 1))
    return f"CASE WHEN {own} THEN r.sent_{n + 1} ELSE r.sent_{n} END", [exclude_campaign] * n


def _over_cap_sql(cap: Cap, *, exclude_campaign: int | None) -> tuple[str, list[Any]]:
    """SELECT of the subscriber ids that already received ``cap.count`` emails in the window."""
    if _slots_read(cap, exclude_campaign=exclude_campaign):
        nth, params = _nth_latest_sql(cap, exclude_campaign=exclude_campaign)
        return f"SELECT r.subscriber_id FROM {RecentSends._meta.db_table} r WHERE {nth} >= %s", [*params, cap.since()]
    table = Delivery._meta.db_table
    sql = f"SELECT d.subscriber_id FROM {table} d WHERE d.status = %s AND d.sent_at >= %s"
    params = [Delivery.Status.SENT, cap.since()]
    if exclude_campaign is not None:
        sql += " AND d.campaign_id <> %s"
        params.append(exclude_campaign)
    sql += " GROUP BY d.subscriber_id HAVING COUNT(*) >= %s"  # more than the slots hold: the ledger itself
    params.append(cap.count)
    return sql, params


def condition(
    *, kind: str, alias: str = "s", exclude_campaign: int | None = None, held: bool = False
) -> tuple[str, list[Any]]:
    """SQL (`` AND …``) on subscriber rows ``alias``: under the cap (or, ``held=True``, over it).

    Empty when no cap applies to ``kind``.
    """
    cap = current_cap()
    if cap is None or not applies_to(kind):
        return "", []
    over, params = _over_cap_sql(cap, exclude_campaign=exclude_campaign)
    negation = "" if held else "NOT "
    return f" AND {negation}EXISTS (SELECT 1 FROM ({over}) capped WHERE capped.subscriber_id = {alias}.id)", params


def capped_among(subscriber_ids: Iterable[int], *, kind: str = "journey") -> set[int]:
    """Which of these people the cap holds back from an email of ``kind`` now (one query)."""
    ids = list(subscriber_ids)
    cap = current_cap()
    if not ids or cap is None or not applies_to(kind):
        return set()
    over, params = _over_cap_sql(cap, exclude_campaign=None)
    found: set[int] = set()
    for start in range(0, len(ids), 10_000):
        chunk = ids[start : start + 10_000]
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT capped.subscriber_id FROM ({over}) capped"
                f" WHERE capped.subscriber_id IN ({', '.join(['%s'] * len(chunk))})",
                [*params, *chunk],
            )
            found.update(int(row[0]) for row in cursor.fetchall())
    return found


def _sorted_insert() -> list[str]:
    """SET clauses that put ``excluded``'s send into a person's slots in time order, newest first.

    A batch can be noted after a later one (two campaigns sending at once, a
    re-run batch): the new send goes where its time belongs, the slots below
    it move down one and the oldest falls out, so the slots are always the
    person's latest sends, sorted, and the n-th slot says whether n are in a window.
    """
    new, clauses = "excluded.sent_1", []
    for slot in range(1, RECENT_SENDS + 1):
        here, above = f"t.sent_{slot}", f"t.sent_{slot - 1}"
        goes_here = f"{here} IS NULL OR {new} >= {here}"
        if slot == 1:
            cases = [(goes_here, "excluded.{}_1")]
        else:
            cases = [(f"{above} IS NULL OR {new} >= {above}", "t.{}_" + str(slot - 1)), (goes_here, "excluded.{}_1")]
        for column in ("sent", "campaign"):
            whens = " ".join(f"WHEN {condition} THEN {value.format(column)}" for condition, value in cases)
            clauses.append(f"{column}_{slot} = CASE {whens} ELSE t.{column}_{slot} END")
    return clauses


def note_batch(campaign_id: int, first_id: int, last_id: int) -> None:
    """Add the sends of one batch (its rows ``sent``) to each recipient's ``RecentSends``: one statement.

    Each send takes its place among the person's slots by time
    (``_sorted_insert``). A person whose slots already hold this campaign is
    left as is, so noting a batch twice (a re-run, a redelivered task) counts
    nothing twice: a campaign mails a person at most once (the ledger's
    unique campaign + subscriber).
    """
    table, delivery = RecentSends._meta.db_table, Delivery._meta.db_table
    absent = " AND ".join(
        f"(t.campaign_{slot} IS NULL OR t.campaign_{slot} <> excluded.campaign_1)"
        for slot in range(1, RECENT_SENDS + 1)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} AS t (subscriber_id, sent_1, campaign_1)"
            f" SELECT d.subscriber_id, d.sent_at, d.campaign_id FROM {delivery} d"
            " WHERE d.campaign_id = %s AND d.status = %s AND d.id >= %s AND d.id <= %s"
            # Rows locked in one order by every batch: two campaigns' batches noting the same people never deadlock.
            " ORDER BY d.subscriber_id"
            f" ON CONFLICT (subscriber_id) DO UPDATE SET {', '.join(_sorted_insert())} WHERE {absent}",
            [campaign_id, Delivery.Status.SENT, first_id, last_id],
        )
