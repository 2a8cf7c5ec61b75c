"""Admin for articles, campaigns, staff accounts and refused webhook events (one module each)."""

from campaigns.admin import (
    articles,  # noqa: F401  (registers ArticleAdmin)
    campaigns,  # noqa: F401  (registers CampaignAdmin, AuditLogAdmin, ApiTokenAdmin)
    staff,  # noqa: F401  (registers the user admin with its backup-code action)
    webhooks,  # noqa: F401  (registers RefusedWebhookAdmin)
)
