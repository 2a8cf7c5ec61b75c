"""When a wait step ends: after an amount of time, or at a weekday and time in the organisation's zone."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

from django.utils import timezone

if TYPE_CHECKING:
    from journeys.models import Step

_UNITS = {"minutes": timedelta(minutes=1), "hours": timedelta(hours=1), "days": timedelta(days=1)}


def wait_ends(step: Step, *, start: datetime) -> datetime:
    """The moment a person who reaches ``step`` at ``start`` moves on."""
    if step.wait_weekday is not None and step.wait_time is not None:
        return next_weekday_time(start, weekday=step.wait_weekday, at=step.wait_time)
    return start + _UNITS.get(step.wait_unit or "days", _UNITS["days"]) * (step.wait_amount or 0)


def next_weekday_time(start: datetime, *, weekday: int, at: time) -> datetime:
    """The first ``weekday`` at ``at`` (the organisation's local time) strictly after ``start``.

    Built from the local date and time, so "Monday 09:00" stays 09:00 across a
    change to or from summer time; a time the clock skips lands an hour later.
    """
    zone = timezone.get_default_timezone()
    local = start.astimezone(zone)
    day = local.date() + timedelta(days=(weekday - local.weekday()) % 7)
    candidate = datetime.combine(day, at, tzinfo=zone)
    if candidate <= local:
        candidate = datetime.combine(day + timedelta(days=7), at, tzinfo=zone)
    return candidate
