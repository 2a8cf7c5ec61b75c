"""Each campaign's summary counts (``CampaignStat``): unique deliveries per event kind and hour.

Written as events arrive (the first event of a kind for a delivery counts
once), so reports read a few rows instead of every event.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from django.db import IntegrityError, transaction
from django.db.models import F, Min

from campaigns.models import CampaignStat, Delivery, DeliveryEvent


def _hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def count_if_first(event: DeliveryEvent, *, delivery_id: int, campaign_id: int) -> None:
    """Add the delivery to the campaign's unique count for this kind, once.

    The delivery's row lock serialises its events: a provider open and our
    pixel arriving together must not both count as the first open.
    """
    Delivery.objects.select_for_update().filter(pk=delivery_id).values_list("pk", flat=True).first()
    earlier = DeliveryEvent.objects.filter(delivery_id=delivery_id, kind=event.kind).exclude(pk=event.pk)
    if earlier.exists():
        return
    add_to_stat(campaign_id=campaign_id, kind=event.kind, hour=_hour(event.occurred_at), count=1)


def add_to_stat(*, campaign_id: int, kind: str, hour: datetime, count: int) -> None:
    filters = {"campaign_id": campaign_id, "kind": kind, "hour": hour}
    if CampaignStat.objects.filter(**filters).update(count=F("count") + count):
        return
    try:
        with transaction.atomic():
            CampaignStat.objects.create(**filters, count=count)
    except IntegrityError:  # another event created the row first
        CampaignStat.objects.filter(**filters).update(count=F("count") + count)


def rebuild_campaign_stats(campaign_id: int) -> None:
    """Recompute a campaign's summary rows from its events (backfills, benchmarks, repairs).

    Maintenance, not a report: it reads each delivery's first event per kind once.
    """
    firsts = (
        DeliveryEvent.objects.filter(campaign_id=campaign_id, delivery__isnull=False)
        .values("delivery_id", "kind")
        .annotate(first=Min("occurred_at"))
        .order_by()
    )
    counts: Counter[tuple[str, datetime]] = Counter()
    for row in firsts.iterator(chunk_size=10_000):
        counts[(row["kind"], _hour(row["first"]))] += 1
    with transaction.atomic():
        CampaignStat.objects.filter(campaign_id=campaign_id).delete()
        CampaignStat.objects.bulk_create(
            CampaignStat(campaign_id=campaign_id, kind=kind, hour=hour, count=n) for (kind, hour), n in counts.items()
        )
