"""Campaign reports: every figure is one aggregate SQL query, never a loop over rows.

A campaign of a million deliveries is read with a handful of GROUP BY
queries (ledger statuses; distinct deliveries per event kind; top links; the
hourly timeline), each served by an index on (campaign, …).

Opens are labelled approximate: Apple Mail Privacy Protection preloads every
image, so an "open" may be a proxy fetching the pixel. When tracking was off
for the campaign, opens and clicks are reported as "not tracked", not as 0.

"Delivered" means one thing in every report (this one, the dashboard, the
appeal report, the API): accepted by the recipient's mail server, as the email
provider reported it (its "delivered" webhook event), once per delivery.
Plain SMTP and providers without that webhook report no deliveries: delivered
is then "not reported" (None), never the number sent, and rates are out of the
emails sent instead (``rate_base``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Exists, Min, OuterRef, QuerySet, Subquery, Sum

from campaigns.counters import status_counts
from campaigns.models import Campaign, CampaignStat, Delivery, DeliveryEvent, RolledUpCampaign
from campaigns.reports.contributions import ReportLine, lines_for
from campaigns.rollup.reading import rollup_of
from subscribers.models import Subscriber

Kind = DeliveryEvent.Kind
Status = Delivery.Status

# Gmail's bulk-sender rules reject above 0.3 %; we warn well before that.
COMPLAINT_WARNING_RATE = 0.001
TIMELINE_HOURS = 72
TIMELINE_KINDS = [Kind.OPENED, Kind.CLICKED, Kind.BOUNCED, Kind.COMPLAINED]
# Above this many rows not sent, the untracked count probes sent rows directly (see _untracked_recipients).
NOT_SENT_READ_LIMIT = 50_000


def delivered_or_none(delivered_deliveries: int) -> int | None:
    """The delivered figure from the count of deliveries with a "delivered" event: None when none reported."""
    return delivered_deliveries or None


def rate_base(*, delivered: int | None, sent: int) -> int:
    """What rates are out of: delivered when the provider reports it, else sent."""
    return sent if delivered is None else delivered


def delivered_count(campaign: Campaign) -> int | None:
    return delivered_or_none(
        CampaignStat.objects.filter(campaign=campaign, kind=Kind.DELIVERED).aggregate(n=Sum("count"))["n"] or 0
    )


def delivered_deliveries(campaign: Campaign) -> QuerySet[Delivery] | None:
    """The campaign's delivered deliveries, for breakdowns (by language, by list); None when not reported."""
    events = DeliveryEvent.objects.filter(campaign=campaign, kind=Kind.DELIVERED)
    if not events.exists():
        return None
    return Delivery.objects.filter(campaign=campaign).filter(Exists(events.filter(delivery=OuterRef("pk"))))


@dataclass
class CampaignReport:
    campaign: Campaign
    statuses: dict[str, int]
    unique: dict[str, int]
    untracked_recipients: int
    top_links: list[dict[str, Any]]
    timeline_start: datetime | None
    timeline: dict[str, list[int]] = field(default_factory=dict)

    @property
    def recipients(self) -> int:
        return sum(self.statuses.values())

    @property
    def sent(self) -> int:
        return self.statuses.get(Status.SENT, 0)

    @property
    def failed(self) -> int:
        return self.statuses.get(Status.FAILED, 0)

    @property
    def unknown(self) -> int:
        return self.statuses.get(Status.UNKNOWN, 0)

    @property
    def skipped(self) -> int:
        return self.statuses.get(Status.SKIPPED, 0)

    @property
    def pending(self) -> int:
        return self.statuses.get(Status.QUEUED, 0) + self.statuses.get(Status.SENDING, 0)

    @property
    def delivered(self) -> int | None:
        return delivered_or_none(self.unique.get(Kind.DELIVERED, 0))

    @property
    def hard_bounces(self) -> int:
        return self.unique.get(Kind.BOUNCED, 0)

    @property
    def soft_bounces(self) -> int:
        return self.unique.get(Kind.SOFT_BOUNCED, 0)

    @property
    def rejected(self) -> int:
        return self.unique.get(Kind.REJECTED, 0)

    @property
    def complaints(self) -> int:
        return self.unique.get(Kind.COMPLAINED, 0)

    @property
    def unsubscribes(self) -> int:
        return self.unique.get(Kind.UNSUBSCRIBED, 0)

    tracked: bool = True
    # When the per-recipient rows were rolled up into these figures (campaigns/rollup/), if they were.
    rolled_up_at: datetime | None = None
    # Why nothing was tracked: the campaign's own switch, or these lists' (names).
    untracked_lists: list[str] = field(default_factory=list)
    # What higher apps add (campaigns/reports/contributions.py): e.g. people who acted.
    extra: list[ReportLine] = field(default_factory=list)

    @property
    def unique_opens(self) -> int | None:
        return self.unique.get(Kind.OPENED, 0) if self.tracked else None

    @property
    def extra_cards(self) -> list[tuple[ReportLine, str]]:
        """Each line higher apps add, with its share of the readers who opened (or "")."""
        return [(line, line.share_of_opens(self.unique_opens)) for line in self.extra]

    @property
    def unique_clicks(self) -> int | None:
        return self.unique.get(Kind.CLICKED, 0) if self.tracked else None

    @property
    def base(self) -> int:
        return rate_base(delivered=self.delivered, sent=self.sent)

    @property
    def tracked_recipients(self) -> int:
        """Recipients whose copy carried the pixel and tracked links (out of ``base``)."""
        return self.tracked_base if self.tracked else 0

    @property
    def tracked_base(self) -> int:
        return max(self.base - self.untracked_recipients, 0)

    @staticmethod
    def _rate(part: int | None, whole: int) -> float | None:
        if part is None or not whole:
            return None
        return part / whole

    @property
    def delivery_rate(self) -> float | None:
        return self._rate(self.delivered, self.sent)

    @property
    def bounce_rate(self) -> float | None:
        return self._rate(self.hard_bounces, self.sent)

    @property
    def complaint_rate(self) -> float | None:
        return self._rate(self.complaints, self.base)

    @property
    def complaint_warning(self) -> bool:
        rate = self.complaint_rate
        return rate is not None and rate > COMPLAINT_WARNING_RATE

    @property
    def unsubscribe_rate(self) -> float | None:
        return self._rate(self.unsubscribes, self.base)

    @property
    def open_rate(self) -> float | None:
        return self._rate(self.unique_opens, self.tracked_base)

    @property
    def click_rate(self) -> float | None:
        return self._rate(self.unique_clicks, self.tracked_base)

    def figures(self) -> list[tuple[str, Any]]:
        """(name, value) pairs for the CSV export, in display order."""
        return [
            ("recipients", self.recipients),
            ("sent", self.sent),
            ("pending", self.pending),
            ("failed", self.failed),
            ("unknown", self.unknown),
            ("skipped", self.skipped),
            ("delivered", "not reported" if self.delivered is None else self.delivered),
            ("hard_bounces", self.hard_bounces),
            ("soft_bounces", self.soft_bounces),
            ("rejected", self.rejected),
            ("complaints", self.complaints),
            ("unsubscribes", self.unsubscribes),
            ("unique_opens_approximate", "not tracked" if self.unique_opens is None else self.unique_opens),
            ("unique_clicks", "not tracked" if self.unique_clicks is None else self.unique_clicks),
            ("recipients_not_tracked", self.untracked_recipients),
            *((line.key, line.value) for line in self.extra),
        ]


def _unique_by_kind(campaign: Campaign) -> dict[str, int]:
    """Distinct deliveries per event kind, from the summary rows events.py keeps."""
    rows = CampaignStat.objects.filter(campaign=campaign).values("kind").annotate(n=Sum("count")).order_by()
    return {row["kind"]: row["n"] for row in rows}


def _campaign_tracked(campaign: Campaign) -> bool:
    """As the renderer decides: one list with tracking off turns it off for the whole campaign."""
    return campaign.tracking_enabled and not campaign.lists.filter(tracking_enabled=False).exists()


def _untracked_recipients(campaign: Campaign, statuses: dict[str, int]) -> int:
    """Recipients whose copy carried no pixel and no tracked links because they said no (tracking off now).

    Driven from the few people with tracking off (a partial index) to their
    delivery (unique on campaign, subscriber), not from a million deliveries.
    Once most of the campaign is sent, as (people with tracking off in the
    campaign) minus (those of them not sent): the first is one index-only
    probe per person, the second reads only the few rows not sent. A direct
    "status = sent" probe reads every such person's row from the table
    (0.8 s at 50 million rows, bench/ledger_bench.py).
    """
    untracked = Subscriber.objects.filter(tracking_allowed=False)
    not_sent = [status for status in statuses if status != Status.SENT]
    if sum(statuses.get(status, 0) for status in not_sent) > NOT_SENT_READ_LIMIT:
        return untracked.filter(deliveries__campaign=campaign, deliveries__status=Status.SENT).count()
    # A scalar subquery, so the planner probes per person instead of walking the campaign's index.
    in_campaign = Delivery.objects.filter(campaign=campaign, subscriber=OuterRef("pk")).values("subscriber_id")[:1]
    everyone = untracked.annotate(delivery=Subquery(in_campaign)).filter(delivery__isnull=False).count()
    if not not_sent:
        return everyone
    left_out = Delivery.objects.filter(campaign=campaign, status__in=not_sent, subscriber__tracking_allowed=False)
    return everyone - left_out.count()


def _top_links(campaign: Campaign, limit: int = 10) -> list[dict[str, Any]]:
    links = (
        DeliveryEvent.objects.filter(campaign=campaign, kind=Kind.CLICKED)
        .exclude(url="")
        .values("url")
        .annotate(unique=Count("delivery", distinct=True), total=Count("id"))
        .order_by("-unique", "-total", "url")[:limit]
    )
    with transaction.atomic(savepoint=False):  # SET LOCAL lasts until this transaction (or the caller's) ends
        if connection.vendor == "postgresql":
            # A popular campaign's clicks (80,000 at 1M recipients) sorted in memory, not spilled to disk.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL work_mem = '64MB'")
        return list(links)


def _timeline_start(campaign: Campaign) -> datetime | None:
    if campaign.started_at:
        return campaign.started_at
    return Delivery.objects.filter(campaign=campaign).aggregate(first=Min("sent_at"))["first"]


def _timeline(campaign: Campaign, start: datetime | None) -> dict[str, list[int]]:
    """First events per hour (unique opens, clicks…) over the first 72 hours after sending began."""
    series: dict[str, list[int]] = {str(kind): [0] * TIMELINE_HOURS for kind in TIMELINE_KINDS}
    if start is None:
        return series
    start_hour = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    rows = CampaignStat.objects.filter(
        campaign=campaign,
        kind__in=TIMELINE_KINDS,
        hour__gte=start_hour,
        hour__lt=start_hour + timedelta(hours=TIMELINE_HOURS),
    ).values_list("kind", "hour", "count")
    for kind, hour, count in rows:  # at most 72 x 4 summary rows
        series[kind][int((hour - start_hour).total_seconds() // 3600)] += count
    return series


def campaign_report(campaign: Campaign) -> CampaignReport:
    rollup = rollup_of(campaign)
    if rollup is not None:
        return _rolled_up_report(campaign, rollup)
    start = _timeline_start(campaign)
    tracked = _campaign_tracked(campaign)
    untracked_lists = (
        []
        if tracked or not campaign.tracking_enabled
        else list(campaign.lists.filter(tracking_enabled=False).values_list("name", flat=True))
    )
    statuses = status_counts(campaign.pk)
    return CampaignReport(
        campaign=campaign,
        statuses=statuses,
        unique=_unique_by_kind(campaign),
        untracked_recipients=_untracked_recipients(campaign, statuses) if tracked else 0,
        top_links=_top_links(campaign),
        timeline_start=start,
        timeline=_timeline(campaign, start),
        tracked=tracked,
        untracked_lists=untracked_lists,
        extra=lines_for(campaign),
    )


def _rolled_up_report(campaign: Campaign, rollup: RolledUpCampaign) -> CampaignReport:
    """The same report from the figures written when the campaign's rows were rolled up (campaigns/rollup/)."""
    start = campaign.started_at or rollup.first_sent_at
    tracked = _campaign_tracked(campaign)
    untracked_lists = (
        []
        if tracked or not campaign.tracking_enabled
        else list(campaign.lists.filter(tracking_enabled=False).values_list("name", flat=True))
    )
    return CampaignReport(
        campaign=campaign,
        statuses={key: int(value) for key, value in rollup.statuses.items()},
        unique=_unique_by_kind(campaign),
        untracked_recipients=rollup.untracked_recipients if tracked else 0,
        top_links=list(rollup.top_links),
        timeline_start=start,
        timeline=_timeline(campaign, start),
        tracked=tracked,
        untracked_lists=untracked_lists,
        rolled_up_at=rollup.started_at,
        extra=lines_for(campaign),
    )
