"""The webhook deliveries about one person: in their GDPR access export, and scrubbed by their erasure.

A delivery is about a person when it names them (``WebhookDelivery.subscriber``,
set when it is written) or carries their address (a gift or a signature from
someone who is not a subscriber row, or a row written before that column).
Erasure keeps every row, with its event, endpoint, status and times (the
counts and the endpoint's history still add up), and drops the person from
its body and from the receiver's answer.
"""

from __future__ import annotations

import json
from typing import Any

from django.db.models import Q, QuerySet

from integrations import payloads
from integrations.addresses import public_url
from integrations.models import WebhookDelivery
from subscribers.models import Subscriber
from subscribers.services.privacy import iso


def about(*, subscriber_id: int | None, email: str) -> QuerySet[WebhookDelivery]:
    """Deliveries naming the person, or carrying their address (none for neither)."""
    named = Q(subscriber_id=subscriber_id) if subscriber_id is not None else Q(pk__in=[])
    if email:
        named |= Q(body__icontains=json.dumps(email, ensure_ascii=False))
    return WebhookDelivery.objects.filter(named)


def export_deliveries(sender: Any, *, subscriber: Subscriber, **kwargs: Any) -> dict[str, Any]:
    """Receiver of ``personal_data_requested``: what was told about the person, to whom and when."""
    rows = about(subscriber_id=subscriber.pk, email=subscriber.email).select_related("endpoint")
    return {
        "webhook_deliveries": [
            {
                "event": row.event_type,
                "endpoint": public_url(row.endpoint.url),
                "created_at": iso(row.created_at),
                "status": row.status,
                "delivered_at": iso(row.delivered_at),
                "data": json.loads(row.body).get("data"),
            }
            for row in rows.order_by("created_at", "pk")
        ]
    }


def _scrubbed(text: str, email: str) -> str:
    message = json.loads(text)
    data = message.get("data")
    if isinstance(data, dict):
        message["data"] = payloads.forget_person(data)
    scrubbed = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
    if email and email.lower() in scrubbed.lower():  # anywhere else in the body: keep only the event and the id
        kept = {
            "type": message.get("type"),
            "timestamp": message.get("timestamp"),
            "data": {"id": data.get("id") if isinstance(data, dict) else None},
        }
        scrubbed = json.dumps(kept, ensure_ascii=False, separators=(",", ":"))
    return scrubbed


def forget(*, subscriber_id: int | None, email: str) -> int:
    """Drop the person from the bodies and answers of the deliveries about them (sent or waiting)."""
    changed = 0
    for row in about(subscriber_id=subscriber_id, email=email).only("pk", "body"):
        changed += WebhookDelivery.objects.filter(pk=row.pk).update(body=_scrubbed(row.body, email), last_response="")
    return changed


def forget_signer(sender: Any, *, email: str, subscriber_id: int | None, **kwargs: Any) -> None:
    """Receiver of actions' ``signatures_erased``: a signer erased from the signatures admin."""
    forget(subscriber_id=subscriber_id, email=email)
