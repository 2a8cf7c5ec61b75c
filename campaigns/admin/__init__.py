"""Admin for articles, campaigns, the audit log, API tokens, staff, two-step devices and refused webhooks."""

from campaigns.admin import (
    api_tokens,  # noqa: F401  (registers ApiTokenAdmin)
    articles,  # noqa: F401  (registers ArticleAdmin)
    audit_log,  # noqa: F401  (registers AuditLogAdmin)
    campaigns,  # noqa: F401  (registers CampaignAdmin)
    staff,  # noqa: F401  (registers the user admin with its backup-code action)
    two_step_devices,  # noqa: F401  (django-otp's device admins, in the staff's language)
    webhooks,  # noqa: F401  (registers RefusedWebhookAdmin)
)
