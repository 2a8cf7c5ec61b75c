"""One campaign ready to send, and one batch of it run, for the engine and provider tests.

``sending_campaign(n)`` makes a campaign in status "sending" with ``n`` people
snapshotted into the ledger and one batch cut; ``run`` sends that batch
through ``campaigns.sending.engine.run_batch`` in this process.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count

from campaigns import tasks
from campaigns.models import Campaign, Delivery, SendBatch
from campaigns.sending import engine, senders
from campaigns.sending.audience import snapshot
from campaigns.sending.batching import cut_batches
from tests.support.factories import make_campaign, make_list, make_people


def sending_campaign(count: int = 5, **fields: Any) -> tuple[Campaign, SendBatch]:
    peru = make_list()
    make_people(count, peru)
    campaign = make_campaign([peru], status=Campaign.Status.SENDING, **fields)
    snapshot(campaign)
    cut_batches(campaign, size=1000)
    return campaign, SendBatch.objects.get(campaign=campaign)


def run(campaign: Campaign, batch: SendBatch, **kwargs: Any) -> senders.BatchResult:
    return engine.run_batch(campaign.pk, batch.first_id, batch.last_id, **kwargs)


def run_every_batch(campaign: Campaign, enqueued: list[Any], capture_on_commit: Any) -> None:
    """Play the worker: run each enqueued batch, then what a finished batch triggers, until none is left."""
    while enqueued:
        ref, _queue = enqueued.pop(0)
        engine.run_batch(ref.campaign_id, ref.first_id, ref.last_id, lease=ref.lease)
        with capture_on_commit(execute=True):
            tasks.continue_sending(campaign.pk)


def statuses_by_group_by(campaign_id: int) -> dict[str, int]:
    """The campaign's deliveries per status counted from its rows: what the ledger's counters must say."""
    rows = Delivery.objects.filter(campaign_id=campaign_id).values_list("status").annotate(n=Count("id")).order_by()
    return dict(rows)
