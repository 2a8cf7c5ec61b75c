"""A campaign's progress, read from its ledger: what the admin, the API, the CLI and webhooks show."""

from __future__ import annotations

from campaigns.counters import status_counts
from campaigns.models import Campaign, Delivery, SendBatch
from campaigns.rollup.reading import counts_of_statuses, rolled_up_counts
from campaigns.sending import audience

S = Campaign.Status
DS = Delivery.Status
BEFORE_SEND = (S.DRAFT, S.REVIEW, S.APPROVED, S.SCHEDULED)

__all__ = ["BEFORE_SEND", "campaign_counts"]


def campaign_counts(campaign: Campaign) -> dict[str, int]:
    """Progress from the ledger's counters: recipients, sent, failed, unknown, pending, skipped, capped.

    ``recipients`` (and ``capped``: held back by the frequency cap) is live before
    sending starts, the ledger's (the snapshot's) after; ``pending`` includes A/B held rows.
    A rolled-up campaign's come from its roll-up (campaigns/rollup/).
    """
    if (rolled_up := rolled_up_counts(campaign)) is not None:
        return rolled_up
    # A few counter rows, not the campaign's million deliveries (campaigns/counters.py).
    result = counts_of_statuses(status_counts(campaign.pk))
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
