"""Send one delivery: claim the attempt, POST it, record what happened.

The claim is a conditional UPDATE that pushes ``next_attempt_at`` past the
attempt's longest duration and counts the attempt: of two tasks for one row,
one sends. The POST happens outside any transaction. A worker killed during
the POST leaves the row pending and due again once that time has passed;
beat's sweep queues it, and the receiver sees the same ``webhook-id`` again
(delivery is at least once; receivers drop repeats by that id).

Failures (any non-2xx, a timeout, a refused address) are retried with
exponential back-off, the first within a minute, until the row is
TOCSIN_WEBHOOK_GIVE_UP_HOURS old: then it is failed, its last answer kept.
An endpoint whose attempts have all failed for that long is disabled
(``health.disable``) and staff are told.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from integrations import addresses, health, signing, transport
from integrations.models import WebhookDelivery

logger = logging.getLogger(__name__)
S = WebhookDelivery.Status


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None = None
    response: str = ""
    error: str = ""


def backoff(attempt: int) -> timedelta:
    """The wait after failed attempt number ``attempt`` (1, 2, …): doubling from the base, capped, with jitter."""
    base = float(settings.TOCSIN_WEBHOOK_RETRY_BASE)
    ceiling = float(settings.TOCSIN_WEBHOOK_RETRY_MAX)
    seconds = min(base * 2 ** min(max(attempt - 1, 0), 30), ceiling)
    # Up to a quarter less: endpoints that failed together do not retry in step.
    return timedelta(seconds=seconds * random.uniform(0.75, 1.0))


def attempt_lease() -> timedelta:
    """How long an attempt may take at most (connect, send, read), with a margin: the claim outlives it."""
    return timedelta(seconds=4 * float(settings.TOCSIN_WEBHOOK_TIMEOUT) + 30)


def give_up_after() -> timedelta:
    return timedelta(hours=float(settings.TOCSIN_WEBHOOK_GIVE_UP_HOURS))


def claim(delivery_id: int, *, now: datetime) -> WebhookDelivery | None:
    """This attempt's row, or None when it is not due (sent, being sent, or not yet time)."""
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=S.PENDING, next_attempt_at__lte=now, endpoint__active=True
    ).update(attempts=F("attempts") + 1, next_attempt_at=now + attempt_lease(), queued_until=None, last_attempt_at=now)
    if not claimed:
        return None
    return WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)


def attempt(delivery: WebhookDelivery, *, now: datetime) -> Outcome:
    """One POST of the row's body to its endpoint; never raises for the receiver's faults."""
    data = delivery.body.encode("utf-8")
    sign = signing.headers(
        signing_secrets=delivery.endpoint.signing_secrets(at=now),
        message_id=delivery.message_id,
        body=delivery.body,
        when=now,
    )
    try:
        target = addresses.resolve(delivery.endpoint.url)
        answer = transport.post(target, data, sign)
    except (addresses.UnsafeUrl, transport.TransportError) as error:
        return Outcome(ok=False, error=str(error)[:500])
    return Outcome(ok=answer.ok, status_code=answer.status, response=answer.body)


def deliver(delivery_id: int) -> Outcome | None:
    """Claim, send, record; None when there was nothing to send (already done, or not due)."""
    now = timezone.now()
    delivery = claim(delivery_id, now=now)
    if delivery is None:
        return None
    outcome = attempt(delivery, now=now)
    record(delivery, outcome)
    return outcome


def record(delivery: WebhookDelivery, outcome: Outcome) -> None:
    """Write the attempt's result under the claim (the attempts count is its token)."""
    now = timezone.now()
    mine = WebhookDelivery.objects.filter(pk=delivery.pk, attempts=delivery.attempts, status=S.PENDING)
    answer = {"last_status_code": outcome.status_code, "last_response": outcome.response, "last_error": outcome.error}
    if outcome.ok:
        mine.update(status=S.DELIVERED, delivered_at=now, next_attempt_at=now, **answer)
        health.succeeded(delivery.endpoint)
        return
    if now - delivery.created_at >= give_up_after():
        mine.update(status=S.FAILED, next_attempt_at=now, **answer)
    else:
        mine.update(next_attempt_at=now + backoff(delivery.attempts), **answer)
    logger.info(
        "webhook %s to endpoint %s failed (attempt %d): %s",
        delivery.message_id,
        delivery.endpoint_id,
        delivery.attempts,
        outcome.error or f"HTTP {outcome.status_code}",
    )
    health.failed(delivery.endpoint, now=now)
