"""What reports read for a campaign whose ledger was rolled up."""

from __future__ import annotations

from campaigns.models import Campaign, Delivery, RolledUpCampaign

Status = Delivery.Status


def rollup_of(campaign: Campaign | int) -> RolledUpCampaign | None:
    if isinstance(campaign, Campaign) and campaign.finished_at is None:
        return None  # only finished campaigns roll up: no query for the others
    campaign_id = campaign if isinstance(campaign, int) else campaign.pk
    return RolledUpCampaign.objects.filter(campaign_id=campaign_id).first()


def counts_from(rollup: RolledUpCampaign) -> dict[str, int]:
    """The shape of ``lifecycle.campaign_counts`` from the rolled-up statuses."""
    return counts_of_statuses({key: int(value) for key, value in rollup.statuses.items()})


def counts_of_statuses(statuses: dict[str, int]) -> dict[str, int]:
    """The shape of ``lifecycle.campaign_counts`` from deliveries per status (rolled up or counted)."""
    return {
        "recipients": sum(statuses.values()),
        "sent": statuses.get(Status.SENT, 0),
        "failed": statuses.get(Status.FAILED, 0),
        "unknown": statuses.get(Status.UNKNOWN, 0),
        "pending": sum(statuses.get(status, 0) for status in (Status.QUEUED, Status.SENDING, Status.HELD)),
        "skipped": statuses.get(Status.SKIPPED, 0),
    }


def rolled_up_counts(campaign: Campaign) -> dict[str, int] | None:
    """``lifecycle.campaign_counts`` for a finished campaign whose rows were rolled up; None for any other."""
    if campaign.status not in (Campaign.Status.SENT, Campaign.Status.CANCELLED):
        return None
    rollup = rollup_of(campaign)
    if rollup is None:
        return None
    return {**counts_from(rollup), "capped": campaign.frequency_capped or 0}
