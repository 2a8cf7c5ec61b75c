"""Every change to a supporter's state goes through these functions.

- ``signup``: subscribe, record consent
- ``confirmation``: the link in the sign-up email, and the two emails
- ``leaving``: unsubscribe, suppress, coming back
- ``preferences``: the preference centre
- ``privacy``: GDPR erasure and access
- ``maintenance``: purging unconfirmed sign-ups
"""

from subscribers.services.confirmation import (
    AlreadyConfirmed,
    Confirmation,
    SignupGone,
    SignupRequest,
    check_confirmation,
    confirm,
    send_confirmation,
    send_welcome,
)
from subscribers.services.leaving import (
    ResubscribeRefused,
    SubscriberErased,
    apply_kept_unsubscribe,
    can_resubscribe,
    is_suppressed,
    lift_suppression,
    suppress,
    unsubscribe,
)
from subscribers.services.maintenance import purge_unconfirmed
from subscribers.services.preferences import update_preferences
from subscribers.services.privacy import erase, export_personal_data
from subscribers.services.signup import InvalidSignup, SignupResult, subscribe
from subscribers.tokens import ExpiredToken, InvalidToken

__all__ = [
    "AlreadyConfirmed",
    "Confirmation",
    "ExpiredToken",
    "InvalidSignup",
    "InvalidToken",
    "ResubscribeRefused",
    "SignupGone",
    "SignupRequest",
    "SignupResult",
    "SubscriberErased",
    "apply_kept_unsubscribe",
    "can_resubscribe",
    "check_confirmation",
    "confirm",
    "erase",
    "export_personal_data",
    "is_suppressed",
    "lift_suppression",
    "purge_unconfirmed",
    "send_confirmation",
    "send_welcome",
    "subscribe",
    "suppress",
    "unsubscribe",
    "update_preferences",
]
