"""The frequency cap: nobody gets more than ``TOCSIN_FREQUENCY_CAP`` emails in its window.

``2/7d`` means: a person who already received two emails in the last seven
days is left out of a bulletin or an appeal (and of a journey's email). What
counts is the delivery ledger itself: rows ``sent``, by ``sent_at``, whatever
sent them. Kinds listed in ``TOCSIN_FREQUENCY_CAP_EXEMPT`` (alerts, by
default) are never held back, though what they send counts like the rest.

The audience snapshot applies it as one anti-join (``condition``): the
people over the cap are found with one range scan of the partial index
``delivery_sent_recently`` (sent rows by time), grouped, and the audience is
joined against that set, so the cost follows the mail sent in the window,
not the size of the ledger's history. Journeys call ``capped_among`` for the
people they are about to mail.
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

from campaigns.models import Delivery


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


def _over_cap_sql(cap: Cap, *, exclude_campaign: int | None) -> tuple[str, list[Any]]:
    """SELECT of the subscriber ids that already received ``cap.count`` emails in the window."""
    table = Delivery._meta.db_table
    sql = f"SELECT d.subscriber_id FROM {table} d WHERE d.status = %s AND d.sent_at >= %s"
    params: list[Any] = [Delivery.Status.SENT, cap.since()]
    if exclude_campaign is not None:
        # A campaign's own earlier rows (a re-run snapshot) are not "already received".
        sql += " AND d.campaign_id <> %s"
        params.append(exclude_campaign)
    sql += " GROUP BY d.subscriber_id HAVING COUNT(*) >= %s"
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
    table = Delivery._meta.db_table
    found: set[int] = set()
    for start in range(0, len(ids), 10_000):
        chunk = ids[start : start + 10_000]
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT d.subscriber_id FROM {table} d WHERE d.status = %s AND d.sent_at >= %s"
                f" AND d.subscriber_id IN ({', '.join(['%s'] * len(chunk))})"
                " GROUP BY d.subscriber_id HAVING COUNT(*) >= %s",
                [Delivery.Status.SENT, cap.since(), *chunk, cap.count],
            )
            found.update(int(row[0]) for row in cursor.fetchall())
    return found
