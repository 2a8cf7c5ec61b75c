"""What staff and the API do with endpoints: register, remove, test, retry, re-enable."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.staff import audit
from integrations import addresses, health, queueing, recording, signing
from integrations.events import EVENTS, TEST_EVENT, unknown_events
from integrations.models import Endpoint, WebhookDelivery


class InvalidEndpoint(Exception):
    """Bad URL or events: ``errors`` by field, and the valid event names."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("invalid webhook endpoint")
        self.errors = errors


def check(*, url: str, events: Iterable[str]) -> tuple[str, list[str]]:
    """The cleaned URL and events, or InvalidEndpoint naming every problem."""
    errors: dict[str, list[str]] = {}
    names = list(dict.fromkeys(str(name) for name in events))
    unknown = unknown_events(names)
    if unknown:
        errors["events"] = [
            _("Unknown event: %(unknown)s. Valid events: %(valid)s.")
            % {"unknown": ", ".join(unknown)[:300], "valid": ", ".join(EVENTS)}
        ]
    elif not names:
        errors["events"] = [_("Choose at least one event. Valid events: %(valid)s.") % {"valid": ", ".join(EVENTS)}]
    try:
        url = addresses.check_url(url)
    except addresses.UnsafeUrl as problem:
        errors["url"] = [str(problem)]
    if errors:
        raise InvalidEndpoint(errors)
    return url, names


def create_endpoint(*, url: str, events: Iterable[str], actor: Any, description: str = "") -> Endpoint:
    url, names = check(url=url, events=events)
    return Endpoint.objects.create(
        url=url,
        events=names,
        description=description[:200],
        secret=signing.new_secret(),
        created_by=actor if getattr(actor, "pk", None) else None,
    )


def send_test(endpoint: Endpoint, *, actor: Any = None) -> WebhookDelivery:
    """A ``webhook.test`` delivery to this active endpoint, whatever events it subscribes to."""
    data = {"id": endpoint.pk, "message": _("A test from Tocsin."), "sent_by": getattr(actor, "username", "")}
    with transaction.atomic():
        [delivery] = recording.record(TEST_EVENT, data, endpoints=[endpoint])
    return delivery


def retry_now(deliveries: Iterable[WebhookDelivery]) -> int:
    """Send these again at once (pending ones sooner, failed ones one more time).

    Delivered ones are left alone, and so are those of a disabled endpoint (re-enable it first).
    """
    ids = [d.pk for d in deliveries if d.status != WebhookDelivery.Status.DELIVERED and d.endpoint.active]
    with transaction.atomic():
        return queueing.queue_now(ids)


def rotate_secret(endpoint: Endpoint, *, actor: Any) -> Endpoint:
    """A new signing secret; the current one signs too for TOCSIN_WEBHOOK_SECRET_GRACE_HOURS.

    Rotating again within that time drops the oldest: only the last two secrets sign.
    """
    now = timezone.now()
    with transaction.atomic():
        locked = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
        locked.previous_secret = locked.secret
        locked.previous_secret_until = now + timedelta(hours=float(settings.TOCSIN_WEBHOOK_SECRET_GRACE_HOURS))
        locked.secret = signing.new_secret()
        locked.save(update_fields=["secret", "previous_secret", "previous_secret_until"])
        audit.record(
            actor=actor,
            action=audit.WEBHOOK_SECRET_ROTATED,
            detail=f"endpoint #{locked.pk} {addresses.public_url(locked.url)}",
        )
    return locked


def reenable(endpoint: Endpoint) -> bool:
    return health.enable(endpoint)


def recent(endpoint: Endpoint, *, limit: int = 20) -> list[WebhookDelivery]:
    return list(endpoint.deliveries.order_by("-created_at", "-id")[:limit])
