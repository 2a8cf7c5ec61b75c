"""Signatures in the GDPR access export and erasure, through subscribers' signals.

Connected in ``ActionsConfig.ready()``. A signer who never became a
subscriber has no subscriber row to erase: staff erase them from the
signatures admin (``services.erase_signatures``), which these call too.
"""

from __future__ import annotations

from typing import Any

from actions import services


def export_signatures(sender: Any, *, subscriber: Any, **kwargs: Any) -> dict[str, Any]:
    return {"signatures": services.signatures_of(subscriber.email, subscriber_id=subscriber.pk)}


def erase_signatures(sender: Any, *, subscriber: Any, email: str, replacement_email: str, **kwargs: Any) -> None:
    services.erase_signatures(email=email, replacement_email=replacement_email, subscriber_id=subscriber.pk)
