"""Prometheus histograms every process adds to, kept in Redis hashes.

Below every app (a worker observes a send batch's wall time in
config/celery.py, the web a webhook's lag in config/apps.py), and read by
the ``/metrics`` collector at the top (config/metrics.py). Why Redis rather
than prometheus-client's per-process registry: see config/metrics.py.
The process that observes adds 1 to a bucket with HINCRBY, so the sum over
every process and machine is one HGETALL away.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import redis
from django.utils import timezone
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.utils import floatToGoString

from config import health

logger = logging.getLogger(__name__)

# After Redis failed once, observations are dropped for this long instead of
# each waiting for a timeout: metrics must never slow a send or a webhook.
_QUIET_SECONDS = 10.0
_SEP = "\x1f"


class RedisHistogram:
    """A Prometheus histogram whose counts every process adds to in one Redis hash."""

    _quiet_until = 0.0

    def __init__(self, name: str, documentation: str, *, label: str, buckets: Iterable[float]) -> None:
        self.name = name
        self.documentation = documentation
        self.label = label
        self.buckets = tuple(sorted(buckets))
        self.key = f"tocsin:metrics:{name}"

    def observe(self, value: float, **labels: str) -> None:
        """Best effort: with Redis away the observation is lost, the caller never waits or fails."""
        if time.monotonic() < RedisHistogram._quiet_until:
            return
        label = labels[self.label].replace(_SEP, " ")
        index = next((i for i, bound in enumerate(self.buckets) if value <= bound), len(self.buckets))
        try:
            pipe = health.broker().pipeline(transaction=False)
            pipe.hincrby(self.key, f"{label}{_SEP}{index}", 1)
            pipe.hincrbyfloat(self.key, f"{label}{_SEP}sum", value)
            pipe.execute()
        except (redis.RedisError, OSError) as error:
            RedisHistogram._quiet_until = time.monotonic() + _QUIET_SECONDS
            logger.info("metric %s not recorded: %s", self.name, error)

    def family(self, client: redis.Redis) -> HistogramMetricFamily:
        counts: dict[str, list[int]] = {}
        sums: dict[str, float] = {}
        for raw_field, raw_value in client.hgetall(self.key).items():
            field = raw_field.decode() if isinstance(raw_field, bytes) else raw_field
            label, _, slot = field.rpartition(_SEP)
            if slot == "sum":
                sums[label] = float(raw_value)
            elif slot.isdigit() and int(slot) <= len(self.buckets):
                counts.setdefault(label, [0] * (len(self.buckets) + 1))[int(slot)] += int(raw_value)
        family = HistogramMetricFamily(self.name, self.documentation, labels=[self.label])
        for label in sorted(counts):
            cumulative, buckets = 0, []
            for bound, count in zip((*self.buckets, float("inf")), counts[label], strict=True):
                cumulative += count
                buckets.append((floatToGoString(bound), cumulative))
            family.add_metric([label], buckets, sums.get(label, 0.0))
        return family


BATCH_SECONDS = RedisHistogram(
    "tocsin_batch_duration_seconds",
    "Wall time of one send batch task, from start to end, by queue.",
    label="queue",
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
WEBHOOK_LAG = RedisHistogram(
    "tocsin_webhook_lag_seconds",
    "Seconds between a delivery event at the provider and its webhook reaching Tocsin, by provider.",
    label="esp",
    buckets=(1, 5, 15, 60, 300, 900, 3600, 21600, 86400),
)


def observe_webhook_lag(sender: Any, event: Any, esp_name: str, **kwargs: Any) -> None:
    """Receiver for ``anymail.signals.tracking``: how late the provider's event reached us."""
    if isinstance(getattr(event, "timestamp", None), datetime):
        lag = (timezone.now() - event.timestamp).total_seconds()
        WEBHOOK_LAG.observe(max(lag, 0.0), esp=str(esp_name))
