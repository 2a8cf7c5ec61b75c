"""``GET /metrics``: Prometheus metrics for the whole installation, behind a bearer token.

Why not prometheus-client's usual per-process registry (or its multiprocess
mode)? Tocsin's work happens in gunicorn workers, Celery prefork children
(recycled at will, killed with -9 by the crash tests) and on several
machines. A per-process counter dies with its process; multiprocess mode
sums the files of the processes of *one* machine, so the web's endpoint
would never see a send made by a worker on another machine, and each worker
machine would need an HTTP exporter of its own. So every figure here is read
at scrape time from what all processes share, and any gunicorn worker of any
web machine answers the same numbers:

- ``tocsin_sends_total{outcome}``: the delivery ledger itself (sent, failed,
  unknown, skipped), exact after any crash. Campaigns finished days ago are
  counted once and cached (their rows no longer change); the others are
  counted on each scrape through the (campaign, status, id) index.
- ``tocsin_deliveries_pending``: queued or in flight, in campaigns not finished.
- ``tocsin_queue_depth{queue}``: the broker's lists, one LLEN each.
- ``tocsin_workers``: workers whose heartbeat is under a minute old (config/health.py).
- ``tocsin_batch_duration_seconds{queue}`` and ``tocsin_webhook_lag_seconds{esp}``:
  histograms whose buckets live in Redis hashes (config/histograms.py, below
  every app, where a worker after a batch and the web on a provider's
  tracking event observe them).
- ``tocsin_outgoing_webhooks_pending``, ``tocsin_outgoing_webhook_lag_seconds``
  (age of the oldest delivery still waiting) and ``tocsin_webhook_endpoints_disabled``:
  outgoing webhooks (integrations/stats.py), from their table.
- ``tocsin_up{component}``: 1 when the database or the broker answered this scrape.

A scrape costs one small query per unfinished campaign, one cache read and
a handful of Redis commands.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from config import health
from config.histograms import BATCH_SECONDS, WEBHOOK_LAG
from integrations import stats as outgoing

logger = logging.getLogger(__name__)

QUEUES = ("urgent", "default", "bulk")
# kombu's Redis transport keeps a message with priority N in "<queue>\x06\x16N".
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")
OUTCOMES = ("sent", "failed", "unknown", "skipped")
# A campaign finished this long ago changes no more (the sweeper marks a
# cancelled campaign's stray rows unknown for two days): count it once.
SETTLED_AFTER = timedelta(days=3)
_CACHE_SECONDS = 30 * 86_400


def _ledger_counts(campaign_ids: list[int]) -> dict[int, dict[str, int]]:
    from campaigns.counters import counts_of

    return counts_of(campaign_ids)  # the ledger's counter rows, not its rows


def _settled_key(pk: int, finished_at: datetime, updated_at: datetime) -> str:
    return f"tocsin:metrics:ledger:{pk}:{finished_at.timestamp():.0f}:{updated_at.timestamp():.0f}"


def _cached(keys: list[str]) -> dict[str, Any]:
    try:
        return cache.get_many(keys)
    except (redis.RedisError, OSError):
        return {}


def ledger_totals() -> tuple[dict[str, int], int]:
    """Deliveries by status over every campaign, and how many are still pending."""
    from campaigns.models import Campaign

    settled_before = timezone.now() - SETTLED_AFTER
    final = (Campaign.Status.SENT, Campaign.Status.CANCELLED)
    settled: dict[str, int] = {}
    live: list[int] = []
    for pk, status, finished_at, updated_at in Campaign.objects.values_list(
        "pk", "status", "finished_at", "updated_at"
    ):
        if status in final and finished_at and finished_at < settled_before and updated_at < settled_before:
            settled[_settled_key(pk, finished_at, updated_at)] = pk
        else:
            live.append(pk)
    found = _cached(list(settled))
    missing = {key: pk for key, pk in settled.items() if key not in found}
    if missing:
        fresh = _ledger_counts(list(missing.values()))
        found.update({key: fresh[pk] for key, pk in missing.items()})
        with contextlib.suppress(redis.RedisError, OSError):  # else counted again at the next scrape
            cache.set_many({key: fresh[pk] for key, pk in missing.items()}, timeout=_CACHE_SECONDS)
    totals = dict.fromkeys((*OUTCOMES, "queued", "sending"), 0)
    for per_status in [*found.values(), *_ledger_counts(live).values()]:
        for status, n in per_status.items():
            totals[status] = totals.get(status, 0) + n
    return {outcome: totals[outcome] for outcome in OUTCOMES}, totals["queued"] + totals["sending"]


class TocsinCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("tocsin_up", "1 when this component answered the scrape.", labels=["component"])
        try:
            outcomes, pending = ledger_totals()
            webhooks = outgoing.backlog()
        except DatabaseError as error:
            logger.warning("metrics: the database does not answer: %s", error)
            up.add_metric(["database"], 0)
        else:
            up.add_metric(["database"], 1)
            sends = CounterMetricFamily("tocsin_sends", "Deliveries by outcome, from the ledger.", labels=["outcome"])
            for outcome, n in outcomes.items():
                sends.add_metric([outcome], n)
            yield sends
            yield GaugeMetricFamily("tocsin_deliveries_pending", "Deliveries queued or in flight.", value=pending)
            yield from _outgoing_webhooks(webhooks)
        try:
            yield from self._from_redis(health.broker())
        except (redis.RedisError, OSError) as error:
            logger.warning("metrics: the broker does not answer: %s", error)
            up.add_metric(["broker"], 0)
        else:
            up.add_metric(["broker"], 1)
        yield up

    def _from_redis(self, client: redis.Redis) -> Iterator[Metric]:
        pipe = client.pipeline(transaction=False)
        for queue in QUEUES:
            for suffix in _PRIORITY_SUFFIXES:
                pipe.llen(queue + suffix)
        lengths = pipe.execute()
        depth = GaugeMetricFamily("tocsin_queue_depth", "Tasks waiting in each broker queue.", labels=["queue"])
        for position, queue in enumerate(QUEUES):
            step = len(_PRIORITY_SUFFIXES)
            depth.add_metric([queue], sum(lengths[position * step : (position + 1) * step]))
        families: list[Metric] = [
            depth,
            GaugeMetricFamily(
                "tocsin_workers", "Workers with a heartbeat under a minute old.", value=health.live_workers() or 0
            ),
            BATCH_SECONDS.family(client),
            WEBHOOK_LAG.family(client),
        ]
        yield from families


def _outgoing_webhooks(backlog: outgoing.Backlog) -> Iterator[Metric]:
    yield GaugeMetricFamily(
        "tocsin_outgoing_webhooks_pending", "Outgoing webhook deliveries not yet delivered.", value=backlog.pending
    )
    yield GaugeMetricFamily(
        "tocsin_outgoing_webhook_lag_seconds",
        "Age of the oldest outgoing webhook delivery not yet delivered (0 when none waits).",
        value=backlog.lag_seconds,
    )
    yield GaugeMetricFamily(
        "tocsin_webhook_endpoints_disabled",
        "Webhook endpoints disabled after failing (staff must re-enable them).",
        value=backlog.disabled_endpoints,
    )


_REGISTRY = CollectorRegistry(auto_describe=False)
_REGISTRY.register(TocsinCollector())


def authorized(request: HttpRequest) -> bool:
    expected = settings.TOCSIN_METRICS_TOKEN
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), expected.encode())


@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus text format; 404 when no token is configured, 401 without the right one."""
    if not settings.TOCSIN_METRICS_TOKEN:
        return HttpResponse("Not found\n", status=404, content_type="text/plain")
    if not authorized(request):
        response = HttpResponse("A bearer token is required\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(_REGISTRY), content_type=CONTENT_TYPE_LATEST)
