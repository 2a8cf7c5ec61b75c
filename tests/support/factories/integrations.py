"""Outgoing-webhook endpoints for tests: every event, or the ones named."""

from __future__ import annotations

from integrations import signing
from integrations.models import Endpoint

ALL_EVENTS = [
    "subscriber.confirmed",
    "subscriber.updated",
    "subscriber.unsubscribed",
    "subscriber.bounced",
    "subscriber.complained",
    "subscriber.erased",
    "donation.received",
    "action.signed",
    "campaign.sent",
]


def make_endpoint(url: str, events: list[str] | None = None, **fields: object) -> Endpoint:
    return Endpoint.objects.create(
        url=url, events=ALL_EVENTS if events is None else events, secret=signing.new_secret(), **fields
    )
