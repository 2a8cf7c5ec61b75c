"""Admin for articles (articles.py), campaigns (campaigns.py) and staff accounts (staff.py)."""

from campaigns.admin import (
    articles,  # noqa: F401  (registers ArticleAdmin)
    campaigns,  # noqa: F401  (registers CampaignAdmin, AuditLogAdmin, ApiTokenAdmin)
    staff,  # noqa: F401  (registers the user admin with its backup-code action)
)
