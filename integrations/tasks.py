"""Thin Celery tasks over integrations' steps; beat runs the sweep (config/celery.py)."""

from __future__ import annotations

from celery import shared_task

from integrations import delivering, health, queueing


@shared_task(ignore_result=True)
def deliver_webhook(delivery_id: int) -> bool:
    """One attempt at one delivery; False when there was nothing to do (sent, in flight, not due)."""
    return delivering.deliver(delivery_id) is not None


@shared_task(ignore_result=True)
def sweep_webhooks() -> int:
    return queueing.sweep()


@shared_task(ignore_result=True)
def purge_webhook_deliveries() -> int:
    return queueing.purge()


@shared_task(ignore_result=True)
def tell_staff_endpoint_disabled(endpoint_id: int) -> int:
    return health.tell_staff_endpoint_disabled(endpoint_id=endpoint_id)
