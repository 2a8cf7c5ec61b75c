"""Figures for /metrics (config/metrics.py): how far behind outgoing webhooks are."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Min
from django.utils import timezone

from integrations.models import Endpoint, WebhookDelivery


@dataclass(frozen=True)
class Backlog:
    pending: int
    # Age of the oldest delivery not yet delivered (0 when none waits): the lag
    # between an event and the CRM hearing of it, retries included.
    lag_seconds: float
    disabled_endpoints: int


def backlog() -> Backlog:
    """Two small queries: the pending rows (a partial index holds only them) and the disabled endpoints."""
    waiting = WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING).aggregate(
        n=Count("id"), oldest=Min("created_at")
    )
    oldest = waiting["oldest"]
    lag = max((timezone.now() - oldest).total_seconds(), 0.0) if oldest else 0.0
    disabled = Endpoint.objects.filter(active=False).count()
    return Backlog(pending=int(waiting["n"] or 0), lag_seconds=lag, disabled_endpoints=disabled)
