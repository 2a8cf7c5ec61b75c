"""A condition step: who did it since entering the journey (one query per step and batch)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from actions.models import Signature
from campaigns.models import DeliveryEvent
from donations.models import Donation

if TYPE_CHECKING:
    from journeys.models import Step


class Entered(Protocol):
    @property
    def subscriber_id(self) -> int: ...

    @property
    def entered_at(self) -> datetime: ...


def met(step: Step, places: Sequence[Entered]) -> set[int]:
    """The subscriber ids among ``places`` for whom ``step``'s condition holds."""
    ids = [place.subscriber_id for place in places]
    if not ids:
        return set()
    condition = step.condition
    if condition in ("opened", "clicked"):
        # Events on this journey's own emails: a person enters a journey once,
        # so every one of them happened since they entered.
        kinds = [DeliveryEvent.Kind.CLICKED] if condition == "clicked" else [DeliveryEvent.Kind.OPENED]
        if condition == "opened":
            kinds.append(DeliveryEvent.Kind.CLICKED)  # a click is proof of an open the pixel may have missed
        return set(
            DeliveryEvent.objects.filter(
                kind__in=kinds,
                delivery__campaign__journey_step__journey_id=step.journey_id,
                delivery__subscriber_id__in=ids,
            ).values_list("delivery__subscriber_id", flat=True)
        )
    since = min(place.entered_at for place in places)
    entered = {place.subscriber_id: place.entered_at for place in places}
    rows: list[tuple[int | None, datetime]]
    if condition == "donated":
        rows = list(
            Donation.objects.filter(subscriber_id__in=ids, donated_at__gte=since).values_list(
                "subscriber_id", "donated_at"
            )
        )
    elif condition == "acted":
        rows = list(
            Signature.objects.filter(subscriber_id__in=ids, created_at__gte=since).values_list(
                "subscriber_id", "created_at"
            )
        )
    else:
        return set()
    return {sid for sid, when in rows if sid is not None and when >= entered[sid]}
