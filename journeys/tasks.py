"""Thin Celery tasks for journeys: beat calls them; the steps live in journeys/engine.py."""

from __future__ import annotations

from celery import shared_task

from journeys import engine
from journeys.services import entering


@shared_task(ignore_result=True, expires=30)
def run_journeys() -> dict[str, int]:
    return engine.run_due()


@shared_task(ignore_result=True, expires=600)
def enrol_inactive() -> int:
    return entering.enrol_all_inactive()
