"""Admin for articles (articles.py), campaigns (campaigns.py), staff accounts (staff.py) and refused webhook events (webhooks.py)."""

from campaigns.admin import (
    articles,  # noqa: F401  (registers ArticleAdmin)
    campaigns,  # noqa: F401  (registers CampaignAdmin, AuditLogAdmin, ApiTokenAdmin)
    staff,  # noqa: F401  (registers the user admin with its backup-code action)
    webhooks,  # noqa: F401  (registers RefusedWebhookAdmin)
)
