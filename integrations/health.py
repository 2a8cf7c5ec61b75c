"""An endpoint's run of failures, and disabling it when the run lasts too long.

An endpoint whose every attempt has failed for TOCSIN_WEBHOOK_GIVE_UP_HOURS
is disabled: its pending deliveries are marked failed (staff can send them
again with "retry now" once it is fixed and re-enabled), no new ones are
written, and everyone who may manage endpoints gets an email, queued
through the outbox in the same transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.staff.notify import email_staff
from integrations.models import Endpoint, WebhookDelivery
from outbox.relay import enqueue

TELL_STAFF_TASK = "integrations.tasks.tell_staff_endpoint_disabled"
MANAGE_PERMISSION = "integrations.change_endpoint"


def succeeded(endpoint: Endpoint) -> None:
    # Conditional: a healthy endpoint's deliveries write nothing here.
    Endpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=False).update(failing_since=None)


def failed(endpoint: Endpoint, *, now: datetime) -> bool:
    """Count a failed attempt against the endpoint; True when this disabled it."""
    Endpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(failing_since=now)
    since = Endpoint.objects.filter(pk=endpoint.pk).values_list("failing_since", flat=True).first()
    if since is None or now - since < timedelta(hours=float(settings.TOCSIN_WEBHOOK_GIVE_UP_HOURS)):
        return False
    hours = (now - since).total_seconds() / 3600
    reason = _("Every delivery failed for %(hours).0f hours.") % {"hours": hours}
    return disable(endpoint, reason=reason, now=now)


def disable(endpoint: Endpoint, *, reason: str, now: datetime | None = None, tell_staff: bool = True) -> bool:
    """Stop sending to ``endpoint`` and tell staff (unless one of them did it); False when it was already disabled."""
    now = now or timezone.now()
    with transaction.atomic():
        changed = Endpoint.objects.filter(pk=endpoint.pk, active=True).update(
            active=False, disabled_at=now, disabled_reason=reason[:300]
        )
        if not changed:
            return False
        WebhookDelivery.objects.filter(endpoint_id=endpoint.pk, status=WebhookDelivery.Status.PENDING).update(
            status=WebhookDelivery.Status.FAILED, last_error=_("The endpoint was disabled.")
        )
        if tell_staff:
            enqueue(TELL_STAFF_TASK, args=[endpoint.pk])
    return True


def enable(endpoint: Endpoint) -> bool:
    """Staff fixed the receiver: send again (new events only; failed deliveries wait for "retry now")."""
    return bool(
        Endpoint.objects.filter(pk=endpoint.pk, active=False).update(
            active=True, disabled_at=None, disabled_reason="", failing_since=None
        )
    )


def tell_staff_endpoint_disabled(*, endpoint_id: int) -> int:
    """Email whoever may re-enable the endpoint; 0 when it is gone or was re-enabled meanwhile."""
    endpoint = Endpoint.objects.filter(pk=endpoint_id, active=False).first()
    if endpoint is None:
        return 0
    admin_url = settings.SITE_URL + reverse("admin:integrations_endpoint_change", args=[endpoint.pk])
    context = {"endpoint": endpoint, "admin_url": admin_url}
    return email_staff(permission=MANAGE_PERMISSION, template="webhook-disabled", context=context)
