"""Thin Celery tasks for the supporters' side: ids in, a service call, retries."""

from __future__ import annotations

from celery import shared_task

from subscribers import services


@shared_task
def purge_unconfirmed() -> int:
    return services.purge_unconfirmed()
