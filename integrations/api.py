"""/api/v1/webhooks: register, list, read, change and remove outgoing webhook endpoints.

A ninja Router that ``IntegrationsConfig.ready()`` adds to campaigns' API
(bearer token, 401/403, ``{"errors": {field: [message]}}``). A URL or an
event name the server refuses is a 422 whose message lists the valid events.
The signing secret is in two answers only, creation and rotation: no GET or
PATCH returns it. Every change is written to the audit log (services).
"""

from __future__ import annotations

from typing import Annotated, Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Path, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import ConfigDict, Field, PlainValidator, WithJsonSchema

from campaigns.api.auth import BearerToken, token_user
from campaigns.api.fields import Flag, Text, problem
from campaigns.api.schemas import ERRORS, ErrorOut
from integrations import services
from integrations.events import EVENTS
from integrations.models import Endpoint, WebhookDelivery

router = Router(tags=["webhooks"])

EventName = Annotated[str, Text(50), WithJsonSchema({"type": "string", "enum": list(EVENTS), "maxLength": 50})]


class EndpointInput(Schema):
    model_config = ConfigDict(extra="forbid")

    url: Annotated[str, Text(500, required=True, format="uri")]
    events: list[EventName] = Field(max_length=len(EVENTS) * 2, description="One or more event names.")
    description: Annotated[str, Text(200)] | None = None


class EndpointChange(Schema):
    model_config = ConfigDict(extra="forbid")

    url: Annotated[str, Text(500, required=True, format="uri")] | None = None
    events: list[EventName] | None = Field(None, max_length=len(EVENTS) * 2, description="One or more event names.")
    description: Annotated[str, Text(200)] | None = None
    active: Flag | None = Field(None, description="false stops deliveries to it; true sends again (new events).")


class EndpointCreated(Schema):
    id: int
    secret: str = Field(description="whsec_<base64>: verify each delivery's webhook-signature with it.")


class SecretRotated(Schema):
    id: int
    secret: str = Field(description="The new whsec_<base64> secret, shown this once.")
    previous_secret_valid_until: str = Field(
        description="Until then each delivery carries a second signature, made with the previous secret."
    )


class InvalidEndpointOut(Schema):
    detail: str
    errors: dict[str, list[str]]
    valid_events: list[str]


class DeliveryOut(Schema):
    id: int
    webhook_id: str
    type: str
    status: str
    attempts: int
    created_at: str
    last_attempt_at: str | None
    next_attempt_at: str | None
    last_status_code: int | None
    last_error: str


class EndpointOut(Schema):
    id: int
    url: str
    description: str
    events: list[str]
    active: bool
    disabled_at: str | None
    disabled_reason: str
    created_at: str


class EndpointDetailOut(EndpointOut):
    deliveries: list[DeliveryOut]


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def endpoint_json(endpoint: Endpoint) -> dict[str, Any]:
    return {
        "id": endpoint.pk,
        "url": endpoint.url,
        "description": endpoint.description,
        "events": list(endpoint.events),
        "active": endpoint.active,
        "disabled_at": _iso(endpoint.disabled_at),
        "disabled_reason": endpoint.disabled_reason,
        "created_at": endpoint.created_at.isoformat(),
    }


def delivery_json(delivery: WebhookDelivery) -> dict[str, Any]:
    pending = delivery.status == WebhookDelivery.Status.PENDING
    return {
        "id": delivery.pk,
        "webhook_id": delivery.message_id,
        "type": delivery.event_type,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "created_at": delivery.created_at.isoformat(),
        "last_attempt_at": _iso(delivery.last_attempt_at),
        "next_attempt_at": _iso(delivery.next_attempt_at) if pending else None,
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
    }


def _endpoint(value: Any) -> Endpoint:
    text = str(value)
    if not text.isdigit():
        raise problem("int_type", _("Must be a whole number."))
    endpoint = Endpoint.objects.filter(pk=int(text)).first() if len(text) < 19 else None
    if endpoint is None:
        # Not a ValueError: pydantic lets it through, so an unknown endpoint is a 404.
        raise HttpError(404, _("No such webhook endpoint."))
    return endpoint


EndpointById = Annotated[Any, PlainValidator(_endpoint), WithJsonSchema({"type": "integer"})]
BY_ID = Path(alias="id")  # the path's name; the view gets the endpoint


@router.post(
    "/webhooks",
    response={201: EndpointCreated, 422: InvalidEndpointOut, **ERRORS},
    auth=BearerToken("integrations.add_endpoint"),
)
def create_webhook(request: HttpRequest, payload: EndpointInput) -> Any:
    """Register an endpoint for some events; the answer holds its signing secret, shown this once.

    Deliveries follow Standard Webhooks: `webhook-id`, `webhook-timestamp` and `webhook-signature` headers, and a
    JSON body `{"type", "timestamp", "data"}`. The URL must be https and must not resolve to a private, loopback
    or reserved address (unless the server allows it). An unknown event or a refused URL answers 422 with
    `valid_events`.
    """
    try:
        endpoint = services.create_endpoint(
            url=payload.url, events=payload.events, description=payload.description or "", actor=token_user(request)
        )
    except services.InvalidEndpoint as problem:
        return _invalid(problem)
    return Status(201, {"id": endpoint.pk, "secret": endpoint.secret})


@router.get("/webhooks", response={200: list[EndpointOut], **ERRORS}, auth=BearerToken("integrations.view_endpoint"))
def webhooks(request: HttpRequest) -> Any:
    """Every endpoint, newest first (without secrets)."""
    return Status(200, [endpoint_json(endpoint) for endpoint in Endpoint.objects.order_by("-created_at", "-id")])


@router.get(
    "/webhooks/{id}",
    response={200: EndpointDetailOut, 404: ErrorOut, **ERRORS},
    auth=BearerToken("integrations.view_endpoint"),
)
def webhook_detail(request: HttpRequest, endpoint: EndpointById = BY_ID) -> Any:
    """One endpoint and its 20 most recent deliveries."""
    deliveries = [delivery_json(delivery) for delivery in services.recent(endpoint)]
    return Status(200, {**endpoint_json(endpoint), "deliveries": deliveries})


def _invalid(problem: services.InvalidEndpoint) -> Any:
    body = {"detail": _("The request is not valid."), "errors": problem.errors, "valid_events": list(EVENTS)}
    return Status(422, body)


@router.patch(
    "/webhooks/{id}",
    response={200: EndpointOut, 404: ErrorOut, 422: InvalidEndpointOut, **ERRORS},
    auth=BearerToken("integrations.change_endpoint"),
)
def change_webhook(request: HttpRequest, payload: EndpointChange, endpoint: EndpointById = BY_ID) -> Any:
    """Change an endpoint's `url`, `events`, `description` or `active`; what is left out stays as it is.

    A new URL is checked like a new endpoint's (422 when refused). Asking for what is already the case changes
    nothing. The answer never holds the secret: rotate it for a new one.
    """
    try:
        changed = services.update_endpoint(
            endpoint,
            actor=token_user(request),
            url=payload.url,
            events=payload.events,
            description=payload.description,
            active=payload.active,
        )
    except services.InvalidEndpoint as problem:
        return _invalid(problem)
    except Endpoint.DoesNotExist:  # deleted meanwhile
        raise HttpError(404, _("No such webhook endpoint.")) from None
    return Status(200, endpoint_json(changed))


@router.delete(
    "/webhooks/{id}",
    response={204: None, 404: ErrorOut, **ERRORS},
    auth=BearerToken("integrations.delete_endpoint"),
)
def delete_webhook(request: HttpRequest, endpoint: EndpointById = BY_ID) -> Any:
    """Remove an endpoint; deliveries still waiting for it are dropped."""
    services.delete_endpoint(endpoint, actor=token_user(request))
    return Status(204, None)


@router.post(
    "/webhooks/{id}/rotate-secret",
    response={200: SecretRotated, 404: ErrorOut, **ERRORS},
    auth=BearerToken("integrations.change_endpoint"),
)
def rotate_webhook_secret(request: HttpRequest, endpoint: EndpointById = BY_ID) -> Any:
    """Give the endpoint a new signing secret, returned this once.

    For `TOCSIN_WEBHOOK_SECRET_GRACE_HOURS` (24) every delivery's `webhook-signature` holds two signatures,
    `v1,<new> v1,<old>`, so the receiver may switch to the new secret at any time in between; after that only
    the new secret signs. Rotating again within the grace period drops the oldest secret.
    """
    try:
        rotated = services.rotate_secret(endpoint, actor=token_user(request))
    except Endpoint.DoesNotExist:  # deleted meanwhile
        raise HttpError(404, _("No such webhook endpoint.")) from None
    until = rotated.previous_secret_until.isoformat() if rotated.previous_secret_until else ""
    return Status(200, {"id": rotated.pk, "secret": rotated.secret, "previous_secret_valid_until": until})
