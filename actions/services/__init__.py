"""Every change to actions, signatures and letters goes through these functions.

- ``change_status``: an action's draft → open → closed (→ open again)
- ``create_action``: what the admin and the API create
- ``sign``: one person signs one action, once; letters are written and queued (sent by actions/sending/)
- ``erase_signatures`` / ``signatures_of``: GDPR erasure and access export

Views and the API turn the exceptions here into form errors and 4xx answers.
"""

from actions.services.cleaning import COMMENT_LIMIT, Cleaned, InvalidSignature, clean_signature
from actions.services.records import (
    count_cache_key,
    erase_signatures,
    letter_counts,
    letter_counts_by_target,
    signature_count,
    signatures_of,
)
from actions.services.setup import (
    ALLOWED,
    InvalidAction,
    TransitionNotAllowed,
    change_status,
    check_letter_setup,
    create_action,
)
from actions.services.signing import ActionNotOpen, DistrictChoiceNeeded, SignResult, letter_targets, sign

__all__ = [
    "ALLOWED",
    "COMMENT_LIMIT",
    "ActionNotOpen",
    "Cleaned",
    "DistrictChoiceNeeded",
    "InvalidAction",
    "InvalidSignature",
    "SignResult",
    "TransitionNotAllowed",
    "change_status",
    "check_letter_setup",
    "clean_signature",
    "count_cache_key",
    "create_action",
    "erase_signatures",
    "letter_counts",
    "letter_counts_by_target",
    "letter_targets",
    "sign",
    "signature_count",
    "signatures_of",
]
