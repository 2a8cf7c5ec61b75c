"""One campaign ready to send, and one batch of it run, for the engine and provider tests.

``sending_campaign(n)`` makes a campaign in status "sending" with ``n`` people
snapshotted into the ledger and one batch cut; ``run`` sends that batch
through ``campaigns.sending.engine.run_batch`` in this process.
``mail_earlier(people, days_ago=…)`` sends an earlier campaign to some
people through the engine at that time (what the frequency cap counts).
"""

from __future__ import annotations

import smtplib
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import time_machine
from django.db.models import Count
from django.test import override_settings
from django.utils import timezone

from campaigns import tasks
from campaigns.models import Campaign, Delivery, SendBatch
from campaigns.sending import engine, senders
from campaigns.sending.audience import snapshot
from campaigns.sending.batching import cut_batches
from subscribers.models import Subscriber
from tests.support.factories import make_campaign, make_list, make_people
from tests.support.mail_backends import FailingBackend


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


def mail_earlier(
    people: Sequence[Subscriber], *, days_ago: float = 1, kind: str = Campaign.Kind.BULLETIN, refused: bool = False
) -> Campaign:
    """An earlier campaign sent to ``people`` by the engine ``days_ago``; ``refused``: the server said no (failed).

    The messages land in ``mail.outbox`` (or nowhere, refused) like any other.
    """
    with time_machine.travel(timezone.now() - timedelta(days=days_ago), tick=False):
        earlier = Campaign.objects.create(
            subject=f"Earlier {kind}", body_markdown="Hello", kind=kind, status=Campaign.Status.SENDING
        )
        Delivery.objects.bulk_create([Delivery(campaign=earlier, subscriber=person) for person in people])
        cut_batches(earlier, size=1000)
        backend = "django.core.mail.backends.locmem.EmailBackend"
        if refused:
            backend = f"{FailingBackend.__module__}.FailingBackend"
        FailingBackend.failures = (
            {p.email: smtplib.SMTPDataError(554, b"5.7.1 message refused") for p in people} if refused else {}
        )
        try:
            with override_settings(EMAIL_BACKEND=backend):
                for batch in SendBatch.objects.filter(campaign=earlier):
                    engine.run_batch(earlier.pk, batch.first_id, batch.last_id)
        finally:
            FailingBackend.failures = {}
        Campaign.objects.filter(pk=earlier.pk).update(status=Campaign.Status.SENT, finished_at=timezone.now())
    return earlier
