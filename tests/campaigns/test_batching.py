"""Batches: keyset ranges over the ledger, leased to one task at a time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import Campaign, Delivery, SendBatch
from campaigns.sending import batching
from campaigns.sending.audience import snapshot
from tests.support.factories import make_campaign, make_list, make_people

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(settings):
    settings.TOCSIN_SEND_WINDOW = 2
    peru = make_list()
    make_people(25, peru)
    campaign = make_campaign([peru], status=Campaign.Status.SENDING)
    snapshot(campaign)
    return campaign


def test_the_ledger_is_cut_into_contiguous_ranges_that_cover_every_delivery_once(campaign):
    assert batching.cut_batches(campaign, size=10) == 3
    batches = list(SendBatch.objects.filter(campaign=campaign).order_by("first_id"))
    assert [b.size for b in batches] == [10, 10, 5]
    ids = sorted(Delivery.objects.filter(campaign=campaign).values_list("id", flat=True))
    covered = [i for b in batches for i in ids if b.first_id <= i <= b.last_id]
    assert covered == ids


def test_only_the_window_of_batches_is_enqueued_and_never_twice(campaign, django_capture_on_commit_callbacks):
    batching.cut_batches(campaign, size=5)
    enqueued: list[batching.BatchRef] = []
    with django_capture_on_commit_callbacks(execute=True):
        assert batching.dispatch(campaign, enqueued.append) == 2
    with django_capture_on_commit_callbacks(execute=True):
        assert batching.dispatch(campaign, enqueued.append) == 0  # window full
    assert len({(r.first_id, r.last_id) for r in enqueued}) == 2


def test_a_batch_is_held_by_one_task_and_freed_when_its_lease_lapses(campaign):
    batching.cut_batches(campaign, size=100)
    batch = SendBatch.objects.get(campaign=campaign)
    args = {"campaign_id": campaign.pk, "first_id": batch.first_id, "last_id": batch.last_id}

    held = batching.acquire(**args, lease=None)
    assert held is not None
    assert batching.acquire(**args, lease=None) is None  # a duplicate task does nothing

    SendBatch.objects.filter(pk=batch.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    taken_over = batching.acquire(**args, lease=None)
    assert taken_over is not None
    assert not batching.renew(*held)  # the old holder learns it lost the batch

    batching.release(*taken_over, done=True)
    assert batching.acquire(**args, lease=None) is None  # done batches never run again


def test_a_task_enqueued_with_the_lease_may_start_it(campaign, django_capture_on_commit_callbacks):
    batching.cut_batches(campaign, size=100)
    refs: list[batching.BatchRef] = []
    with django_capture_on_commit_callbacks(execute=True):
        batching.dispatch(campaign, refs.append)
    [ref] = refs
    args = {"campaign_id": campaign.pk, "first_id": ref.first_id, "last_id": ref.last_id}
    assert batching.acquire(**args, lease="someone-else") is None
    assert batching.acquire(**args, lease=ref.lease) is not None


def test_a_sparse_ledger_is_cut_exactly_around_the_rows_still_queued(campaign):
    ids = sorted(Delivery.objects.filter(campaign=campaign).values_list("id", flat=True))
    Delivery.objects.filter(id__in=ids[::2]).update(status=Delivery.Status.SENT)
    queued = ids[1::2]
    assert batching.cut_batches(campaign, size=5) == 3
    sizes = [b.size for b in SendBatch.objects.filter(campaign=campaign).order_by("first_id")]
    assert sizes == [5, 5, 2] and sum(sizes) == len(queued)
