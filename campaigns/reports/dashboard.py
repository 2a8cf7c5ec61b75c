"""Figures for the admin dashboard (templates/admin/index.html).

Aggregate SQL only, and the pipeline checks answer within about a second
even when Redis or every worker is down: the page must never hang because
the thing it reports on is broken.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import redis
from django.conf import settings
from django.db.models import Count, Sum
from django.db.models.functions import TruncWeek
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.counters import counts_of
from campaigns.models import Campaign, CampaignStat, Delivery, DeliveryEvent, RolledUpCampaign
from campaigns.reports.charts import Series, axis_date, bar_chart
from campaigns.reports.figures import delivered_or_none, rate_base
from campaigns.rollup.reading import counts_from
from config import health
from subscribers.models import Subscriber, Suppression

logger = logging.getLogger(__name__)

WEEKS = 12
LAST_CAMPAIGNS = 5
QUEUES = ("urgent", "default", "bulk")
_TIMEOUT = 0.5


def _weekly(queryset, field: str, since: datetime) -> dict[date, int]:  # type: ignore[no-untyped-def]
    rows = (
        queryset.filter(**{f"{field}__gte": since})
        .annotate(week=TruncWeek(field))
        .values("week")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {row["week"].date() if hasattr(row["week"], "date") else row["week"]: row["n"] for row in rows}


def list_growth() -> dict[str, Any]:
    """Sign-ups, confirmations and leavers per week over the last twelve weeks."""
    today = timezone.localdate()
    this_monday = today - timedelta(days=today.weekday())
    weeks = [this_monday - timedelta(weeks=WEEKS - 1 - i) for i in range(WEEKS)]
    since = timezone.make_aware(datetime.combine(weeks[0], datetime.min.time()))
    signups = _weekly(Subscriber.objects.all(), "created_at", since)
    confirmations = _weekly(Subscriber.objects.all(), "confirmed_at", since)
    leavers = _weekly(Subscriber.objects.all(), "unsubscribed_at", since)
    series = [
        Series(_("Sign-ups"), [signups.get(week, 0) for week in weeks]),
        Series(_("Confirmed"), [confirmations.get(week, 0) for week in weeks]),
        Series(_("Left"), [leavers.get(week, 0) for week in weeks], color="#c53030"),
    ]
    x_labels = [(i, axis_date(week)) for i, week in enumerate(weeks) if i % 2 == 0]
    return {
        "chart": bar_chart(series, title=_("List growth per week"), x_labels=x_labels),
        "totals": {str(s.label): sum(s.values) for s in series},
        "confirmed_now": Subscriber.objects.filter(status=Subscriber.Status.CONFIRMED).count(),
    }


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def last_campaigns() -> list[dict[str, Any]]:
    """The latest campaigns that went out, with their key rates (a few grouped queries in all)."""
    campaigns = list(
        Campaign.objects.filter(
            status__in=[Campaign.Status.SENDING, Campaign.Status.PAUSED, Campaign.Status.SENT], automated=False
        ).order_by("-started_at", "-pk")[:LAST_CAMPAIGNS]
    )
    ids = [c.pk for c in campaigns]
    untracked_lists = set(
        Campaign.lists.through.objects.filter(campaign__in=ids, mailinglist__tracking_enabled=False).values_list(
            "campaign", flat=True
        )
    )
    # People who said no to tracking themselves: left out of the rates, as in the report.
    untracked_people = {
        row["deliveries__campaign"]: row["n"]
        for row in Subscriber.objects.filter(
            tracking_allowed=False, deliveries__campaign__in=ids, deliveries__status=Delivery.Status.SENT
        )
        .values("deliveries__campaign")
        .annotate(n=Count("id"))
        .order_by()
    }
    sent = {
        pk: {"recipients": sum(statuses.values()), "sent": statuses.get(Delivery.Status.SENT, 0)}
        for pk, statuses in counts_of(ids).items()
    }
    unique: dict[int, dict[str, int]] = {}
    for row in (  # the summary rows events keep, as the report reads them (figures.py)
        CampaignStat.objects.filter(campaign__in=ids).values("campaign", "kind").annotate(n=Sum("count")).order_by()
    ):
        unique.setdefault(row["campaign"], {})[row["kind"]] = row["n"]
    # Campaigns whose rows were rolled up (campaigns/rollup/): the same figures, written at the time.
    for rollup in RolledUpCampaign.objects.filter(campaign__in=ids):
        counts_of_rollup = counts_from(rollup)
        sent[rollup.campaign_id] = {"recipients": counts_of_rollup["recipients"], "sent": counts_of_rollup["sent"]}
        unique[rollup.campaign_id] = {key: int(value) for key, value in rollup.unique.items()}
        untracked_people[rollup.campaign_id] = rollup.untracked_recipients
    result = []
    for campaign in campaigns:  # at most LAST_CAMPAIGNS
        counts = unique.get(campaign.pk, {})
        sent_count = sent.get(campaign.pk, {}).get("sent", 0)
        base = rate_base(delivered=delivered_or_none(counts.get(DeliveryEvent.Kind.DELIVERED, 0)), sent=sent_count)
        # As the renderer decides: the campaign's switch, or one list without tracking, turns it off for all.
        tracked_base = max(base - untracked_people.get(campaign.pk, 0), 0)
        tracked = campaign.tracking_enabled and campaign.pk not in untracked_lists and (tracked_base > 0 or base == 0)
        result.append(
            {
                "campaign": campaign,
                "recipients": sent.get(campaign.pk, {}).get("recipients", 0),
                "sent": sent_count,
                "tracked": tracked,
                "open_rate": _rate(counts.get(DeliveryEvent.Kind.OPENED, 0), tracked_base) if tracked else None,
                "click_rate": _rate(counts.get(DeliveryEvent.Kind.CLICKED, 0), tracked_base) if tracked else None,
                "bounce_rate": _rate(counts.get(DeliveryEvent.Kind.BOUNCED, 0), base),
                "complaint_rate": _rate(counts.get(DeliveryEvent.Kind.COMPLAINED, 0), base),
            }
        )
    return result


def suppression_counts() -> list[dict[str, Any]]:
    labels = dict(Suppression.Reason.choices)
    rows = Suppression.objects.values("reason").annotate(n=Count("id")).order_by("-n")
    return [{"reason": labels.get(row["reason"], row["reason"]), "n": row["n"]} for row in rows]


@dataclass
class PipelineHealth:
    redis_ok: bool
    queues: dict[str, int]
    workers: list[str]
    workers_checked: bool
    last_beat: datetime | None


def _redis_client() -> redis.Redis:
    return redis.Redis.from_url(
        settings.CELERY_BROKER_URL, socket_connect_timeout=_TIMEOUT, socket_timeout=_TIMEOUT, retry_on_timeout=False
    )


def _last_beat() -> datetime | None:
    """When beat last saved its schedule file (it does so every few minutes while it runs)."""
    base = Path(settings.CELERY_BEAT_SCHEDULE_FILENAME)
    times = [p.stat().st_mtime for p in base.parent.glob(base.name + "*") if p.is_file()]
    if not times:
        return None
    return datetime.fromtimestamp(max(times), tz=timezone.get_current_timezone())


def pipeline_health() -> PipelineHealth:
    queues: dict[str, int] = {}
    workers: list[str] = []
    redis_ok = workers_checked = False
    try:
        client = _redis_client()
        client.ping()
        redis_ok = True
        # kombu's Redis transport keeps each queue as a list named after it.
        queues = {name: int(client.llen(name)) for name in QUEUES}
    except (redis.RedisError, OSError) as exc:
        logger.info("dashboard: Redis unreachable: %s", exc)
    if redis_ok:
        # The heartbeats workers write (config/health.py), as /readyz reads them: a
        # `celery inspect` broadcast would make the page wait out its timeout with no worker.
        fresh = health.fresh_workers()
        workers_checked = fresh is not None
        workers = fresh or []
    return PipelineHealth(
        redis_ok=redis_ok, queues=queues, workers=workers, workers_checked=workers_checked, last_beat=_last_beat()
    )
