"""What staff and the API do with endpoints: register, change, remove, test, retry, re-enable, rotate.

Every change staff make (admin or API) is written to the audit log here, in
the change's transaction: who, which endpoint (number and host) and what
changed; asking for what is already the case writes nothing.
"""

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


def _event_problems(names: list[str]) -> list[str]:
    unknown = unknown_events(names)
    if unknown:
        return [
            _("Unknown event: %(unknown)s. Valid events: %(valid)s.")
            % {"unknown": ", ".join(unknown)[:300], "valid": ", ".join(EVENTS)}
        ]
    if not names:
        return [_("Choose at least one event. Valid events: %(valid)s.") % {"valid": ", ".join(EVENTS)}]
    return []


def _checked(*, url: str | None, events: Iterable[str] | None) -> tuple[str | None, list[str] | None]:
    """The cleaned URL and events (each None when not given), or InvalidEndpoint naming every problem."""
    errors: dict[str, list[str]] = {}
    names = None if events is None else list(dict.fromkeys(str(name) for name in events))
    if names is not None and (problems := _event_problems(names)):
        errors["events"] = problems
    if url is not None:
        try:
            url = addresses.check_url(url)
        except addresses.UnsafeUrl as problem:
            errors["url"] = [str(problem)]
    if errors:
        raise InvalidEndpoint(errors)
    return url, names


def check(*, url: str, events: Iterable[str]) -> tuple[str, list[str]]:
    """The cleaned URL and events, or InvalidEndpoint naming every problem."""
    checked_url, names = _checked(url=url, events=events)
    assert checked_url is not None and names is not None  # both were given
    return checked_url, names


def describe(endpoint: Endpoint) -> str:
    """How the audit log names an endpoint: its number and host, never its path (it may hold a token) or secret."""
    return f"endpoint #{endpoint.pk} {addresses.public_host(endpoint.url)}"


def register(endpoint: Endpoint, *, actor: Any) -> Endpoint:
    """Save a new endpoint whose URL and events were checked, with a new secret; audited."""
    endpoint.secret = signing.new_secret()
    endpoint.created_by = actor if getattr(actor, "pk", None) else None
    with transaction.atomic():
        endpoint.save()
        audit.record(
            actor=actor,
            action=audit.WEBHOOK_CREATED,
            detail=f"{describe(endpoint)}: events {', '.join(endpoint.events)}",
        )
    return endpoint


def create_endpoint(*, url: str, events: Iterable[str], actor: Any, description: str = "") -> Endpoint:
    url, names = check(url=url, events=events)
    return register(Endpoint(url=url, events=names, description=description[:200]), actor=actor)


def update_endpoint(
    endpoint: Endpoint,
    *,
    actor: Any,
    url: str | None = None,
    events: Iterable[str] | None = None,
    description: str | None = None,
    active: bool | None = None,
) -> Endpoint:
    """Change what is given (None: left as it is); the change is audited, saying what changed.

    Asking for what is already the case writes nothing (events compare as a set). A new URL is checked like a
    new endpoint's; the one it has is not checked again.
    """
    # Compared with the stored URL: an admin form has already set the new one on ``endpoint``.
    if url is not None and url.strip() == Endpoint.objects.filter(pk=endpoint.pk).values_list("url", flat=True).first():
        url = None
    url, names = _checked(url=url, events=events)
    with transaction.atomic():
        locked = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
        label = describe(locked)
        changes: list[str] = []
        fields: list[str] = []
        if url is not None and url != locked.url:
            locked.url = url
            fields.append("url")
            changes.append(f"url → {addresses.public_host(url)}")
        if names is not None and set(names) != set(locked.events):
            added = [f"+{name}" for name in names if name not in locked.events]
            removed = [f"-{name}" for name in locked.events if name not in names]
            locked.events = names
            fields.append("events")
            changes.append("events " + " ".join(added + removed))
        if description is not None and description[:200] != locked.description:
            locked.description = description[:200]
            fields.append("description")
            changes.append("description")
        if fields:
            locked.save(update_fields=fields)
        if active is True and health.enable(locked):
            changes.append("enabled")
        if active is False:
            reason = _("Disabled by %(name)s.") % {"name": getattr(actor, "username", "") or _("staff")}
            if health.disable(locked, reason=reason, tell_staff=False):
                changes.append("disabled")
        if changes:
            audit.record(actor=actor, action=audit.WEBHOOK_CHANGED, detail=f"{label}: {'; '.join(changes)}")
    locked.refresh_from_db()
    return locked


def delete_endpoint(endpoint: Endpoint, *, actor: Any) -> None:
    """Remove the endpoint and the deliveries still waiting for it; audited."""
    with transaction.atomic():
        audit.record(actor=actor, action=audit.WEBHOOK_DELETED, detail=describe(endpoint))
        endpoint.delete()


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
            detail=describe(locked),
        )
    return locked


def reenable(endpoint: Endpoint, *, actor: Any) -> bool:
    """Send to a disabled endpoint again; False (and nothing audited) when it was active."""
    with transaction.atomic():
        changed = health.enable(endpoint)
        if changed:
            audit.record(actor=actor, action=audit.WEBHOOK_CHANGED, detail=f"{describe(endpoint)}: enabled")
    return changed


def recent(endpoint: Endpoint, *, limit: int = 20) -> list[WebhookDelivery]:
    return list(endpoint.deliveries.order_by("-created_at", "-id")[:limit])
