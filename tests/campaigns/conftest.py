"""Fixtures the campaigns tests share (pytest finds them here without an import)."""

from __future__ import annotations

import pytest

from campaigns.models import Campaign
from tests.support.reports import build_sent_campaign


@pytest.fixture
def sent_campaign() -> Campaign:
    """Ten sent, one failed: eight delivered, one hard and one soft bounce, a complaint, opens and clicks."""
    return build_sent_campaign()
