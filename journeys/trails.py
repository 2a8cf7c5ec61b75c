"""A journey email's report leads back to its journey, at its step (registered in ``JourneysConfig.ready()``).

The email is a hidden campaign that the campaigns list never shows: staff open
its report from the journey's table of steps, and its breadcrumbs take them
back there (campaigns/reports/trails.py).
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.text import Truncator, capfirst

from campaigns.models import Campaign
from journeys.models import Journey, Step


def report_trail(campaign: Campaign) -> list[tuple[str, str]] | None:
    step = Step.objects.filter(campaign=campaign).select_related("journey", "campaign").first()
    if step is None:
        return None
    journey_url = reverse("admin:journeys_journey_change", args=[step.journey_id])
    return [
        (reverse("admin:journeys_journey_changelist"), str(capfirst(Journey._meta.verbose_name_plural))),
        (journey_url, str(step.journey)),
        # The anchor is the step's row on the journey's page (JourneyAdmin.overview).
        # A long subject is the page's title already: the trail keeps its first words.
        (f"{journey_url}#step-{step.pk}", Truncator(step.summary()).words(10, truncate=" …")),
    ]
