"""Admin for articles (articles.py) and campaigns (campaigns.py)."""

from campaigns.admin import (
    articles,  # noqa: F401  (registers ArticleAdmin)
    campaigns,  # noqa: F401  (registers CampaignAdmin, AuditLogAdmin, ApiTokenAdmin)
)
