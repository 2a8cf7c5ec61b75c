from __future__ import annotations

from collections.abc import Iterator

import pytest

from integrations import signing
from integrations.models import Endpoint
from tests.integrations.receiver import Receiver, running_receiver

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


@pytest.fixture(autouse=True)
def _webhook_settings(settings):  # type: ignore[no-untyped-def]
    # The receiver listens on 127.0.0.1: allowed here, refused by default (tests/integrations/test_ssrf.py).
    settings.TOCSIN_WEBHOOK_ALLOW_PRIVATE = True
    settings.TOCSIN_WEBHOOK_TIMEOUT = 2.0


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


def make_endpoint(url: str, events: list[str] | None = None, **fields: object) -> Endpoint:
    return Endpoint.objects.create(
        url=url, events=ALL_EVENTS if events is None else events, secret=signing.new_secret(), **fields
    )


@pytest.fixture
def endpoint(db, receiver: Receiver) -> Endpoint:  # type: ignore[no-untyped-def]
    return make_endpoint(receiver.url())
