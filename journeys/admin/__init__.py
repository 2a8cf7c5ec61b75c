"""Journeys in the admin: the journey (trigger, steps, people at each, pause) and its emails (write, preview)."""

from journeys.admin import (
    emails,  # noqa: F401  (registers JourneyEmailAdmin)
    journeys,  # noqa: F401  (registers JourneyAdmin)
)
