"""Admin for articles, campaigns, the audit log, API tokens, staff accounts and refused webhook events."""

from campaigns.admin import (
    api_tokens,  # noqa: F401  (registers ApiTokenAdmin)
    articles,  # noqa: F401  (registers ArticleAdmin)
    audit_log,  # noqa: F401  (registers AuditLogAdmin)
    campaigns,  # noqa: F401  (registers CampaignAdmin)
    staff,  # noqa: F401  (registers the user admin with its backup-code action)
    webhooks,  # noqa: F401  (registers RefusedWebhookAdmin)
)
