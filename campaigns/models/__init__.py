"""campaigns' models, one module per concern; every model is importable from ``campaigns.models``.

- ``content``: Article
- ``campaigns``: Campaign, CampaignArticle, CampaignTranslation
- ``ab_tests``: ABTest (a campaign's test of subjects)
- ``deliveries``: Delivery (the ledger), SendBatch, DeliveryCount (its counts per status), RecentSends (what the
  frequency cap counts)
- ``events``: DeliveryEvent, CampaignStat, RefusedWebhook
- ``staff``: AuditLog, ApiToken
- ``rollup``: RolledUpCampaign, PersonEngagement, RolledUpProblem (campaigns/rollup/)

The pipeline that uses them is ``campaigns/sending/`` (see ARCHITECTURE.md).
"""

from campaigns.models.ab_tests import ABTest
from campaigns.models.campaigns import Campaign, CampaignArticle, CampaignTranslation, new_attribution_code
from campaigns.models.content import Article
from campaigns.models.deliveries import RECENT_SENDS, Delivery, DeliveryCount, RecentSends, SendBatch
from campaigns.models.events import CampaignStat, DeliveryEvent, RefusedWebhook
from campaigns.models.rollup import PersonEngagement, RolledUpCampaign, RolledUpProblem
from campaigns.models.staff import ApiToken, AuditLog

# Migrations 0001 and 0007 name the default of Campaign.attribution_code by this path: the same function.
_attribution_code = new_attribution_code

__all__ = [
    "RECENT_SENDS",
    "ABTest",
    "ApiToken",
    "Article",
    "AuditLog",
    "Campaign",
    "CampaignArticle",
    "CampaignStat",
    "CampaignTranslation",
    "Delivery",
    "DeliveryCount",
    "DeliveryEvent",
    "PersonEngagement",
    "RecentSends",
    "RefusedWebhook",
    "RolledUpCampaign",
    "RolledUpProblem",
    "SendBatch",
]
