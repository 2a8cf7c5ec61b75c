"""Supporters, the lists they choose, and the evidence of their consent.

``Consent`` rows are append-only evidence (CASL puts the burden of proof on
the sender; the GDPR asks for demonstrable consent). ``Suppression`` rows are
keyed by a one-way hash of the address so that they outlive GDPR erasure.
"""

# One module per concern; Django and every caller import them from here.
from subscribers.models.consent import AppendOnlyError, Consent, ConsentQuerySet, Suppression
from subscribers.models.lists import Language, MailingList, quoted_list_names
from subscribers.models.people import (
    EXPORT_PERMISSION,
    Subscriber,
    SubscriberQuerySet,
    Subscription,
    email_hash,
    normalize_email,
)

__all__ = [
    "EXPORT_PERMISSION",
    "AppendOnlyError",
    "Consent",
    "ConsentQuerySet",
    "Language",
    "MailingList",
    "Subscriber",
    "SubscriberQuerySet",
    "Subscription",
    "Suppression",
    "email_hash",
    "normalize_email",
    "quoted_list_names",
]
