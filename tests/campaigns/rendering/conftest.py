"""Fixtures of the rendering tests: the organisation's settings, the mining list, Ana, a bulletin."""

from __future__ import annotations

import pytest

from campaigns.models import Campaign, CampaignArticle
from subscribers.models import MailingList, Subscriber, Subscription
from tests.support.rendering import ORGANISATION, make_article, make_campaign


@pytest.fixture(autouse=True)
def _site(settings):  # type: ignore[no-untyped-def]
    for name, value in ORGANISATION.items():
        setattr(settings, name, value)


@pytest.fixture
def mining_list() -> MailingList:
    return MailingList.objects.create(slug="mining", name="Mining watch")


@pytest.fixture
def ana(mining_list: MailingList) -> Subscriber:
    person = Subscriber.objects.create(email="ana@example.org", name="Ana Quispe", status="confirmed")
    Subscription.objects.create(subscriber=person, mailing_list=mining_list)
    return person


@pytest.fixture
def bulletin(mining_list: MailingList) -> Campaign:
    campaign = make_campaign(
        [mining_list],
        intro_markdown='Dear {{ subscriber.name|default:"friend" }},\n\nHere is the **news** from '
        "[the valley](https://example.net/valley).",
    )
    # Added out of order: positions decide.
    CampaignArticle.objects.create(campaign=campaign, article=make_article(2), position=2)
    CampaignArticle.objects.create(campaign=campaign, article=make_article(1), position=1)
    return campaign
