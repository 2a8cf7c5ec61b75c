"""Lines a higher app adds to every campaign's report: a registry filled in ``AppConfig.ready()``.

campaigns cannot know what its readers did elsewhere in Tocsin; actions
can ("acted": people who signed an action the campaign links to). Each
source returns a line for a campaign, or None when it has nothing to say.
The line shows on the report page and goes into its CSV under ``key``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.formats import number_format

from campaigns.models import Campaign


@dataclass(frozen=True)
class ReportLine:
    key: str  # the CSV's name for it, e.g. "acted"
    label: str  # on the report page, in the staff's language
    value: int
    note: str = ""
    # A sentence with %(opened)s and %(value)s, shown when opens were tracked ("of 4,210 who opened, 1,034 acted").
    of_opened: str = ""

    def share_of_opens(self, opened: int | None) -> str:
        """``of_opened`` filled in, or "" when opens were not tracked or the line has no such sentence."""
        if not self.of_opened or opened is None:
            return ""
        return self.of_opened % {
            "opened": number_format(opened, force_grouping=True),
            "value": number_format(self.value, force_grouping=True),
        }


LineSource = Callable[[Campaign], ReportLine | None]

_sources: list[LineSource] = []


def register(source: LineSource) -> None:
    if source not in _sources:
        _sources.append(source)


def lines_for(campaign: Campaign) -> list[ReportLine]:
    lines: list[ReportLine | Any] = [source(campaign) for source in _sources]
    return [line for line in lines if line is not None]
