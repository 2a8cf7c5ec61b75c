"""Write an event's deliveries in the transaction of the change; hand them to a worker once committed.

Receivers of the lower apps' signals (integrations/receivers.py) call
``record``: one ``WebhookDelivery`` row per active endpoint that subscribes
to the event, in the caller's transaction. Right after the commit the rows
are handed to the broker (``queueing.hand_over``); when that fails (broker
down, process killed) beat's sweep finds them due and queues them.
"""

from __future__ import annotations

import json
from datetime import timedelta
from functools import partial
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from config import rows
from integrations import queueing, signing
from integrations.models import Endpoint, WebhookDelivery


def body(event_type: str, data: dict[str, Any], *, when: Any = None) -> str:
    payload = {"type": event_type, "timestamp": (when or timezone.now()).isoformat(), "data": data}
    return json.dumps(payload, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":"))


def subscribed(event_type: str) -> list[Endpoint]:
    # Filtered here rather than with a JSON lookup: SQLite has no containment
    # query, and an organisation has a handful of endpoints. Written as SQL:
    # every sign-up and signature asks, and the ORM spent longer compiling
    # the query than the database answering it (most often: no endpoint).
    table = connection.ops.quote_name(Endpoint._meta.db_table)
    sql = f"SELECT {rows.columns(Endpoint, 'e')} FROM {table} e WHERE e.active"  # noqa: S608 (names from the model)
    return [endpoint for endpoint in rows.instances(Endpoint, sql) if event_type in endpoint.events]


def record(
    event_type: str,
    data: dict[str, Any],
    *,
    endpoints: list[Endpoint] | None = None,
    subscriber_id: int | None = None,
) -> list[WebhookDelivery]:
    """One delivery of ``event_type`` per subscribed endpoint (or to ``endpoints``), sent after the commit.

    ``subscriber_id`` is the person the event is about, if any (their access export and erasure find it).
    """
    targets = subscribed(event_type) if endpoints is None else endpoints
    if not targets:
        return []
    now = timezone.now()
    text = body(event_type, data, when=now)
    rows = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                endpoint=endpoint,
                event_type=event_type,
                subscriber_id=subscriber_id,
                message_id=signing.new_message_id(),
                body=text,
                next_attempt_at=now,
                # The after-commit hand-over queues it; the sweep leaves it
                # alone meanwhile, and takes it over if that never happens.
                queued_until=now + timedelta(seconds=queueing.QUEUED_SECONDS),
                created_at=now,
            )
            for endpoint in targets
        ]
    )
    transaction.on_commit(partial(queueing.hand_over, [row.pk for row in rows]), robust=True)
    return rows
