"""Fields of ``POST /api/v1/campaigns`` whose meaning belongs to an app above campaigns.

``exclude_acted`` and ``only_acted`` (action slugs) shape a campaign's
audience by who signed which action: campaigns declares them in its schema
(they are part of the API's contract) but cannot know what an action is.
The app that does (actions) registers a ``CampaignOption`` for each from its
``AppConfig.ready()``: ``check`` turns the given value into field errors
(a 400, nothing written), ``save`` stores it for the new campaign inside the
transaction that creates it. A field given while no app handles it is a 400
too, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from campaigns.models import Campaign


@dataclass(frozen=True)
class CampaignOption:
    name: str  # the field of CampaignInput
    check: Callable[[Any], list[str]]  # the value -> what is wrong with it (empty: fine)
    save: Callable[[Campaign, Any], None]  # runs in the campaign's creation transaction
    read: Callable[[Campaign], Any] | None = None  # the stored value, as GET /api/v1/campaigns/{id} shows it


_options: dict[str, CampaignOption] = {}

# CampaignInput's fields that go through this registry rather than onto the Campaign row.
FIELDS = ("exclude_acted", "only_acted")


def register(option: CampaignOption) -> None:
    if option.name not in FIELDS:
        raise ValueError(f"{option.name!r} is not a field of CampaignInput handled by options")
    _options[option.name] = option


def option(name: str) -> CampaignOption | None:
    return _options.get(name)


def read_back(campaign: Campaign) -> dict[str, Any]:
    """Each option as the campaign has it (an empty list while no app handles it): the API echoes them."""
    values: dict[str, Any] = {}
    for name in FIELDS:
        handler = _options.get(name)
        values[name] = handler.read(campaign) if handler is not None and handler.read is not None else []
    return values
