"""Test data: lists, people, consents, campaigns, deliveries, donations, actions.

Import from here: ``from tests.support.factories import make_list, make_people``.
factory_boy factories (``SubscriberFactory``, ``CampaignFactory``…) build one
row with defaults you override by keyword; the ``make_*`` functions and the
few named shapes (``gift``, ``petition``, ``riding_map``) are what most tests
call. Named staff and supporters are in tests/support/personas.py.
"""

from tests.support.factories.actions import (
    ActionFactory,
    TargetFactory,
    district,
    group,
    letter,
    petition,
    riding_map,
    target,
)
from tests.support.factories.articles import make_article, make_sent_campaign, make_topic
from tests.support.factories.campaigns import (
    CampaignFactory,
    DeliveryFactory,
    campaign,
    engage,
    make_campaign,
    make_delivery,
)
from tests.support.factories.donations import (
    GOOD,
    NO_REFERENCE,
    DonationFactory,
    gift,
    run_import,
    started_appeal,
    write_csv,
)
from tests.support.factories.subscribers import (
    ConsentFactory,
    MailingListFactory,
    SubscriberFactory,
    active_slugs,
    mailing_list,
    make_list,
    make_people,
    make_subscriber,
)

__all__ = [
    "GOOD",
    "NO_REFERENCE",
    "ActionFactory",
    "CampaignFactory",
    "ConsentFactory",
    "DeliveryFactory",
    "DonationFactory",
    "MailingListFactory",
    "SubscriberFactory",
    "TargetFactory",
    "active_slugs",
    "campaign",
    "district",
    "engage",
    "gift",
    "group",
    "letter",
    "mailing_list",
    "make_article",
    "make_campaign",
    "make_delivery",
    "make_list",
    "make_people",
    "make_sent_campaign",
    "make_subscriber",
    "make_topic",
    "petition",
    "riding_map",
    "run_import",
    "started_appeal",
    "target",
    "write_csv",
]
