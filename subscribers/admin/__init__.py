"""Subscriber admin: lists, people, their consent history, import, export, GDPR.

Consent rows are evidence and are shown read-only. People are not added by
hand (there would be no consent to show for them): they sign up, come through
the API, or are imported from a CSV with its consent source. The list leaves
the server only through the permissioned, logged CSV export.
"""

from subscribers.admin import (
    lists,  # noqa: F401  (registers MailingListAdmin)
    people,  # noqa: F401  (registers SubscriberAdmin)
    suppressed,  # noqa: F401  (registers SuppressionAdmin)
)
