"""A sent campaign with a known mix of events, for the report's and the roll-up's tests."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.events.stats import rebuild_campaign_stats
from campaigns.models import Campaign, Delivery, DeliveryEvent
from campaigns.rollup import rolling
from tests.support.factories import make_delivery

Kind = DeliveryEvent.Kind


def add_event(delivery: Delivery, kind: str, *, n: int = 0, url: str = "", reason: str = "", hours: float = 1) -> None:
    DeliveryEvent.objects.create(
        delivery=delivery,
        campaign_id=delivery.campaign_id,
        kind=kind,
        event_id=f"t:{delivery.pk}:{kind}:{n}:{url}",
        url=url,
        reason=reason,
        occurred_at=delivery.campaign.started_at + timedelta(hours=hours),
    )


def build_sent_campaign() -> Campaign:
    """Ten sent, one failed: eight delivered, one hard and one soft bounce, a complaint, opens and clicks."""
    campaign = Campaign.objects.create(
        subject="Lithium: the consultation that never was",
        status=Campaign.Status.SENT,
        started_at=timezone.now() - timedelta(days=2),
    )
    deliveries = [make_delivery(f"p{i}@example.org", campaign=campaign) for i in range(10)]
    failed = make_delivery("=HYPERLINK(1)@example.org", campaign=campaign, status=Delivery.Status.FAILED)
    Delivery.objects.filter(pk=failed.pk).update(error="-550 relay refused")
    for delivery in deliveries[:8]:
        add_event(delivery, Kind.DELIVERED)
    add_event(deliveries[8], Kind.BOUNCED, reason="550 5.1.1 user unknown")
    add_event(deliveries[9], Kind.SOFT_BOUNCED, reason="452 mailbox full")
    add_event(deliveries[0], Kind.COMPLAINED, hours=5)
    for delivery in deliveries[:4]:
        add_event(delivery, Kind.OPENED, hours=2)
    add_event(deliveries[0], Kind.OPENED, n=1, hours=3)  # a second open of the same copy counts once
    add_event(deliveries[0], Kind.CLICKED, url="https://example.org/lithium", hours=2)
    add_event(deliveries[1], Kind.CLICKED, url="https://example.org/lithium", hours=2)
    add_event(deliveries[1], Kind.CLICKED, url="https://example.org/donate", hours=2)
    rebuild_campaign_stats(campaign.pk)  # events written directly here, not through the webhooks
    return campaign


def roll_up_killed_after_one_batch(campaign_id: int, *, batch_size: int) -> None:
    """A roll-up whose worker dies in its second batch: the first batch is done, the second rolled back."""
    original, batches = rolling._delete, []

    def killed_on_the_second_batch(ids: list[int]) -> None:
        if batches:
            raise RuntimeError("the worker was killed")
        batches.append(ids)
        original(ids)

    rolling._delete = killed_on_the_second_batch  # type: ignore[assignment]
    try:
        with pytest.raises(RuntimeError):
            rolling.roll_up(campaign_id, batch_size=batch_size)
    finally:
        rolling._delete = original  # type: ignore[assignment]
