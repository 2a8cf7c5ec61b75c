"""The audit log: who created, edited, approved, scheduled, sent, paused,
cancelled, test-sent or exported what, and when.

Status changes are logged by ``campaigns.lifecycle.transition`` (one entry per
change, action = the new status); everything else calls ``record``.
"""

from __future__ import annotations

from typing import Any

from campaigns.models import AuditLog, Campaign

CREATED = "created"
EDITED = "edited"
TEST_SENT = "test-sent"
EXPORTED = "exported"
ARCHIVE_SHOWN = "archive-shown"
ARCHIVE_HIDDEN = "archive-hidden"
TOKEN_CREATED = "api-token-created"  # noqa: S105 - an action name, not a secret
TWO_STEP_CODE_ISSUED = "two-step-code-issued"
WEBHOOK_CREATED = "webhook-created"
WEBHOOK_CHANGED = "webhook-changed"
WEBHOOK_DELETED = "webhook-deleted"
WEBHOOK_SECRET_ROTATED = "webhook-secret-rotated"  # noqa: S105 - an action name, not a secret
JOURNEY_PAUSED = "journey-paused"
JOURNEY_RESUMED = "journey-resumed"


def record(*, actor: Any, action: str, campaign: Campaign | None = None, detail: str = "") -> AuditLog:
    return AuditLog.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        action=action[:40],
        campaign=campaign,
        detail=detail,
    )
