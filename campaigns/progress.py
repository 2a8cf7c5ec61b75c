"""A campaign's progress, read from its ledger: what the admin, the API, the CLI and webhooks show."""

from __future__ import annotations

from django.db.models import Count, Q

from campaigns.models import Campaign, Delivery, SendBatch
from campaigns.rollup.reading import rolled_up_counts
from campaigns.sending import audience

S = Campaign.Status
DS = Delivery.Status
BEFORE_SEND = (S.DRAFT, S.REVIEW, S.APPROVED, S.SCHEDULED)

__all__ = ["BEFORE_SEND", "campaign_counts"]


def campaign_counts(campaign: Campaign) -> dict[str, int]:
    """Progress in one aggregate query: recipients, sent, failed, unknown, pending, skipped, capped.

    ``recipients`` (and ``capped``: held back by the frequency cap) is live before
    sending starts, the ledger's (the snapshot's) after; ``pending`` includes A/B held rows.
    A rolled-up campaign's come from its roll-up (campaigns/rollup/).
    """
    if (rolled_up := rolled_up_counts(campaign)) is not None:
        return rolled_up
    counts = Delivery.objects.filter(campaign=campaign).aggregate(
        recipients=Count("id"),
        sent=Count("id", filter=Q(status=DS.SENT)),
        failed=Count("id", filter=Q(status=DS.FAILED)),
        unknown=Count("id", filter=Q(status=DS.UNKNOWN)),
        pending=Count("id", filter=Q(status__in=[DS.QUEUED, DS.SENDING, DS.HELD])),
        skipped=Count("id", filter=Q(status=DS.SKIPPED)),
    )
    result = {key: int(value or 0) for key, value in counts.items()}
    result["capped"] = campaign.frequency_capped or 0
    if not result["recipients"]:
        # Just after "send", before a worker has taken the snapshot, the
        # ledger is empty: show the audience about to receive it, not zero.
        preparing = campaign.status == S.SENDING and not SendBatch.objects.filter(campaign=campaign).exists()
        if campaign.status in BEFORE_SEND or preparing:
            result["recipients"] = audience.count_audience(campaign)
            result["pending"] = result["recipients"] if preparing else 0
            result["capped"] = audience.count_capped(campaign)
    return result
