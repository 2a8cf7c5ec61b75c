"""Telling staff that an endpoint was disabled: an email to everyone who may manage endpoints."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse

from integrations.models import Endpoint
from subscribers.emails import make_message

MANAGE_PERMISSION = "integrations.change_endpoint"


def managers() -> list[str]:
    """The addresses of active staff who may re-enable an endpoint (superusers included)."""
    users = get_user_model().objects.filter(is_active=True, is_staff=True).exclude(email="").order_by("pk")
    return sorted({user.email for user in users if user.has_perm(MANAGE_PERMISSION)})


def tell_staff_endpoint_disabled(*, endpoint_id: int) -> int:
    """How many staff were emailed; 0 when the endpoint is gone or was re-enabled meanwhile."""
    endpoint = Endpoint.objects.filter(pk=endpoint_id, active=False).first()
    if endpoint is None:
        return 0
    context = {
        "endpoint": endpoint,
        "admin_url": settings.SITE_URL + reverse("admin:integrations_endpoint_change", args=[endpoint.pk]),
    }
    recipients = managers()
    for address in recipients:
        make_message("webhook-disabled", address, context, language=settings.LANGUAGE_CODE).send()
    return len(recipients)
