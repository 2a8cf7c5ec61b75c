"""Roll a finished campaign's ledger up, then delete its rows in batches (see the package's docstring).

Crash-safe and resumable: the campaign's figures are written once, before the
first row goes, and each batch adds its people's engagement and deletes its
rows (and their events) in one transaction, so a batch is either wholly
counted and gone or untouched. Running it again carries on where it stopped.

The problem list (who failed, bounced, was refused or complained, and why)
outlives the rows: in the same transaction, one INSERT … SELECT copies the
batch's problem deliveries into ``RolledUpProblem``, a few per cent of the
rows. A table of its own rather than keeping those Delivery rows: kept rows
would stay in the ledger's counters (``DeliveryCount``) while their figures
are also in ``RolledUpCampaign``, the person's history would count them
beside their ``PersonEngagement``, and ``due_campaigns`` would find the
campaign due for ever. Its key is the delivery's id, so a line cannot be
added twice however often a batch is retried.
"""

# The SQL here is built from model table names and code constants; every value is a parameter.
# ruff: noqa: S608
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Exists, Min, OuterRef
from django.utils import timezone

from campaigns.models import (
    Campaign,
    Delivery,
    DeliveryCount,
    DeliveryEvent,
    PersonEngagement,
    RolledUpCampaign,
    RolledUpProblem,
)
from campaigns.models.rollup import PROBLEM_KINDS, PROBLEM_STATUSES
from subscribers.models import Subscriber

logger = logging.getLogger(__name__)

BATCH_SIZE = 5_000
TOP_LINKS = 10
Kind = DeliveryEvent.Kind


def due_campaigns(*, retention_days: int | None = None) -> list[int]:
    """Finished campaigns past the retention period that still have delivery rows, oldest first."""
    days = settings.TOCSIN_LEDGER_RETENTION_DAYS if retention_days is None else retention_days
    if days <= 0 and retention_days is None:
        return []  # 0 in the settings: keep every row
    cutoff = timezone.now() - timedelta(days=days)
    return list(
        Campaign.objects.filter(status__in=[Campaign.Status.SENT, Campaign.Status.CANCELLED], finished_at__lt=cutoff)
        .exclude(kind=Campaign.Kind.APPEAL)  # donations attribute gifts to whoever received the appeal
        .filter(ab_test__isnull=True)  # an A/B test's variants are read from its rows
        .filter(Exists(Delivery.objects.filter(campaign=OuterRef("pk"))))
        .order_by("finished_at", "pk")
        .values_list("pk", flat=True)
    )


def roll_up_due(*, retention_days: int | None = None) -> dict[str, int]:
    campaigns = rows = 0
    for campaign_id in due_campaigns(retention_days=retention_days):
        rows += roll_up(campaign_id)
        campaigns += 1
    return {"campaigns": campaigns, "rows": rows}


def roll_up(campaign_id: int, *, batch_size: int = BATCH_SIZE) -> int:
    """Roll one campaign up; the number of delivery rows deleted."""
    summarise(campaign_id)
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(
                Delivery.objects.filter(campaign_id=campaign_id)
                .order_by("subscriber_id")  # the unique (campaign, subscriber) index, in order
                .values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                break
            _add_engagement(ids)
            _keep_problems(campaign_id, ids)
            _delete(ids)
        deleted += len(ids)
    # Every row gone, each status's counter rows (one per connection that wrote) sum to zero: drop them.
    DeliveryCount.objects.filter(campaign_id=campaign_id).delete()
    RolledUpCampaign.objects.filter(campaign_id=campaign_id, finished_at__isnull=True).update(
        finished_at=timezone.now()
    )
    logger.info("campaign %s: %s delivery rows rolled up", campaign_id, deleted)
    return deleted


def summarise(campaign_id: int) -> RolledUpCampaign:
    """The campaign's figures from its ledger, written once (a second call returns the first's)."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
        existing = RolledUpCampaign.objects.filter(campaign=campaign).first()
        if existing is not None:
            return existing
        return RolledUpCampaign.objects.create(campaign=campaign, **figures(campaign))


def figures(campaign: Campaign) -> dict[str, Any]:
    """Exactly what campaigns/reports read from the rows, computed the same way."""
    deliveries = Delivery.objects.filter(campaign=campaign)
    statuses = {row["status"]: row["n"] for row in deliveries.values("status").annotate(n=Count("id")).order_by()}
    unique = {
        row["kind"]: row["n"]
        for row in DeliveryEvent.objects.filter(campaign=campaign, delivery__isnull=False)
        .values("kind")
        .annotate(n=Count("delivery", distinct=True))
        .order_by()
    }
    top_links = list(
        DeliveryEvent.objects.filter(campaign=campaign, kind=Kind.CLICKED)
        .exclude(url="")
        .values("url")
        .annotate(unique=Count("delivery", distinct=True), total=Count("id"))
        .order_by("-unique", "-total", "url")[:TOP_LINKS]
    )
    untracked = Subscriber.objects.filter(
        tracking_allowed=False, deliveries__campaign=campaign, deliveries__status=Delivery.Status.SENT
    ).count()
    return {
        "statuses": statuses,
        "unique": unique,
        "untracked_recipients": untracked,
        "first_sent_at": deliveries.aggregate(first=Min("sent_at"))["first"],
        "top_links": top_links,
    }


def _later(column: str) -> str:
    """The later of the stored and the new time; either may be NULL (portable: no GREATEST in SQLite)."""
    new, old = f"excluded.{column}", f"t.{column}"
    return f"{column} = CASE WHEN {old} IS NULL OR {new} > {old} THEN {new} ELSE {old} END"


def _add_engagement(ids: list[int]) -> None:
    """Each person's received count and latest times, added in one statement (one row per person per batch)."""
    delivery, event = Delivery._meta.db_table, DeliveryEvent._meta.db_table
    engagement = PersonEngagement._meta.db_table
    marks = ", ".join(["%s"] * len(ids))

    def latest(kind: str) -> str:
        return f"(SELECT MAX(e.occurred_at) FROM {event} e WHERE e.delivery_id = d.id AND e.kind = '{kind}')"

    sql = (
        f"INSERT INTO {engagement} AS t (subscriber_id, campaigns_received, last_received_at, last_opened_at,"
        " last_clicked_at)"
        f" SELECT d.subscriber_id, CASE WHEN d.status = %s THEN 1 ELSE 0 END,"
        f" CASE WHEN d.status = %s THEN d.sent_at END, {latest(Kind.OPENED)}, {latest(Kind.CLICKED)}"
        f" FROM {delivery} d JOIN {Subscriber._meta.db_table} s ON s.id = d.subscriber_id WHERE d.id IN ({marks})"
        " ON CONFLICT (subscriber_id) DO UPDATE SET"
        " campaigns_received = t.campaigns_received + excluded.campaigns_received, "
        + ", ".join(_later(column) for column in ("last_received_at", "last_opened_at", "last_clicked_at"))
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [Delivery.Status.SENT, Delivery.Status.SENT, *ids])


def _keep_problems(campaign_id: int, ids: list[int]) -> None:
    """The batch's problem list lines, as ``campaigns/reports/problems.py`` shows them, in one statement.

    Driven from the campaign's few problem candidates (failed or unknown rows,
    problem events), two index-only scans hashed against the batch: probing
    each of the batch's rows for an event instead took four to six times as
    long (bench/ledger_bench.py). The latest problem event is one lookup per line.
    """
    delivery, event, problem = Delivery._meta.db_table, DeliveryEvent._meta.db_table, RolledUpProblem._meta.db_table
    kinds = ", ".join(["%s"] * len(PROBLEM_KINDS))
    statuses = ", ".join(["%s"] * len(PROBLEM_STATUSES))
    # One array parameter on PostgreSQL: 5,000 separate ones cost more to send and plan than to run.
    in_batch = "= ANY(%s)" if connection.vendor == "postgresql" else "IN ({})".format(", ".join(["%s"] * len(ids)))
    batch: list[Any] = [ids] if connection.vendor == "postgresql" else list(ids)
    sql = (
        f"INSERT INTO {problem} (delivery_id, campaign_id, subscriber_id, status, event_kind, event_reason, error,"
        " occurred_at)"
        " SELECT d.id, d.campaign_id, d.subscriber_id, d.status, COALESCE(e.kind, ''), COALESCE(e.reason, ''),"
        " d.error, COALESCE(e.occurred_at, d.sent_at, d.claimed_at)"
        f" FROM {delivery} d JOIN {Subscriber._meta.db_table} s ON s.id = d.subscriber_id"
        f" LEFT JOIN {event} e ON e.id = (SELECT l.id FROM {event} l WHERE l.delivery_id = d.id AND l.kind IN ({kinds})"
        " ORDER BY l.occurred_at DESC, l.id DESC LIMIT 1)"
        f" WHERE d.id IN (SELECT f.id FROM {delivery} f WHERE f.campaign_id = %s AND f.status IN ({statuses})"
        f" UNION SELECT c.delivery_id FROM {event} c WHERE c.campaign_id = %s AND c.kind IN ({kinds}))"
        f" AND d.id {in_batch}"
        " ON CONFLICT (delivery_id) DO NOTHING"
    )
    kind_values = [str(kind) for kind in PROBLEM_KINDS]
    status_values = [str(status) for status in PROBLEM_STATUSES]
    params = [*kind_values, campaign_id, *status_values, campaign_id, *kind_values, *batch]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _delete(ids: list[int]) -> None:
    # Plain DELETEs: Django's cascade would load every row first. Events first (their foreign key).
    marks = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {DeliveryEvent._meta.db_table} WHERE delivery_id IN ({marks})", ids)
        cursor.execute(f"DELETE FROM {Delivery._meta.db_table} WHERE id IN ({marks})", ids)
