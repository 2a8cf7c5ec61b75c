"""Webhooks in the admin: endpoints (register, send a test event, re-enable) and their deliveries (retry now)."""

from integrations.admin import (
    deliveries,  # noqa: F401  (registers WebhookDeliveryAdmin)
    endpoints,  # noqa: F401  (registers EndpointAdmin)
)
