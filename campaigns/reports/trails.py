"""Where a campaign's report leads back to: a registry filled in ``AppConfig.ready()``.

A journey's email is a hidden ("automated") campaign: the campaigns list does
not show it, so its report's breadcrumbs must not send staff there. campaigns
cannot know whose email a hidden campaign is; journeys can. Each source
returns the breadcrumbs between Home and "Report" (url, label) for a campaign
it owns, or None; the first answer wins, and a campaign nobody claims keeps
the campaigns' own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from campaigns.models import Campaign

Trail = Sequence[tuple[str, str]]
TrailSource = Callable[[Campaign], Trail | None]

_sources: list[TrailSource] = []


def register(source: TrailSource) -> None:
    if source not in _sources:
        _sources.append(source)


def trail_for(campaign: Campaign) -> Trail | None:
    """The owner's breadcrumbs for ``campaign``'s report, or None for the campaigns' own."""
    if not campaign.automated:  # only hidden campaigns belong to another app's page
        return None
    for source in _sources:
        trail = source(campaign)
        if trail is not None:
            return trail
    return None
