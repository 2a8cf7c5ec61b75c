from __future__ import annotations

from collections.abc import Iterator

import pytest

from integrations.models import Endpoint
from tests.support.factories.integrations import make_endpoint
from tests.support.webhook_receiver import Receiver, running_receiver


@pytest.fixture(autouse=True)
def _webhook_settings(settings):  # type: ignore[no-untyped-def]
    # The receiver listens on 127.0.0.1: allowed here, refused by default (tests/integrations/test_ssrf.py).
    settings.TOCSIN_WEBHOOK_ALLOW_PRIVATE = True
    settings.TOCSIN_WEBHOOK_TIMEOUT = 2.0


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@pytest.fixture
def endpoint(db, receiver: Receiver) -> Endpoint:  # type: ignore[no-untyped-def]
    return make_endpoint(receiver.url())
