"""Delivery events: Anymail's ``tracking`` signal (and our own click/open
redirects) -> ``DeliveryEvent`` rows and suppressions.

Every provider's webhook ends up in ``record_provider_event``:

- the event is matched to its ``Delivery`` through the metadata set at send
  time (``delivery_id``) or the provider's message id;
- it is stored once: a unique ``event_id`` (the provider's own when it has
  one, else a hash of what identifies the event) makes replays change nothing;
- hard bounces, rejections, spam complaints and provider-side unsubscribes
  suppress the *address* at once, even when the message id is not one of
  ours (a bounce from another stream of the same account still means the
  address is dead); soft bounces suppress after
  ``TOCSIN_SOFT_BOUNCE_LIMIT`` of them within ``TOCSIN_SOFT_BOUNCE_WINDOW_DAYS``.

Only a hash of the recipient's address is kept on the event, and the raw
payload without personal data (``scrubbing``); each campaign's counts are
kept up to date as events are stored (``stats``).

A provider cannot be asked to fix what it sends, and refusing an event would
lose it (and have it retried for hours), so each field is made storable
instead: text loses what ``subscribers/text.py`` refuses, a recipient that
cannot be an address is left out, a timestamp outside any plausible range
becomes the time the event arrived. What still cannot be used is recorded by
``refuse_webhook`` (``campaigns/events/webhooks.py`` answers 2xx).
"""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from anymail.signals import AnymailTrackingEvent, EventType
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from campaigns.events.scrubbing import scrub_payload, scrub_text
from campaigns.events.stats import count_if_first
from campaigns.models import Delivery, DeliveryEvent, RefusedWebhook
from subscribers.models import Suppression, email_hash
from subscribers.services.leaving import suppress
from subscribers.text import clean_text, has_control_characters

logger = logging.getLogger(__name__)

Kind = DeliveryEvent.Kind

# Anymail's normalised event types -> ours. ``queued`` and ``sent`` are not
# stored: the delivery ledger already knows that, and SES would otherwise add
# one row per message sent.
_KIND_FOR_EVENT_TYPE: dict[str, str] = {
    EventType.DELIVERED: Kind.DELIVERED,
    EventType.BOUNCED: Kind.BOUNCED,
    EventType.DEFERRED: Kind.DEFERRED,
    EventType.REJECTED: Kind.REJECTED,
    EventType.COMPLAINED: Kind.COMPLAINED,
    EventType.OPENED: Kind.OPENED,
    EventType.CLICKED: Kind.CLICKED,
    EventType.UNSUBSCRIBED: Kind.UNSUBSCRIBED,
}
_IGNORED_EVENT_TYPES = {EventType.QUEUED, EventType.SENT, EventType.SUBSCRIBED}

# Kinds that suppress the address at once, and the reason they record.
_SUPPRESSING: dict[str, str] = {
    Kind.BOUNCED: Suppression.Reason.BOUNCED,
    Kind.REJECTED: Suppression.Reason.REJECTED,
    Kind.COMPLAINED: Suppression.Reason.COMPLAINED,
    Kind.UNSUBSCRIBED: Suppression.Reason.UNSUBSCRIBED,
}
_SOFT_KINDS = {Kind.SOFT_BOUNCED, Kind.DEFERRED}

# SparkPost bounce classes that mean "this address does not exist"; every
# other class (mailbox full, DNS, blocks, generic) may clear up by itself.
_SPARKPOST_HARD_CLASSES = {"10", "25", "30", "90"}

_MAX_ID = 2**63 - 1  # a bigint primary key
_MAX_ADDRESS = 254  # RFC 5321's limit on a deliverable address
# Until a shared rule for plausible dates lands: no provider sent webhooks
# before 2000, and a clock a day ahead of ours is wrong.
_EARLIEST_EVENT = datetime(2000, 1, 1, tzinfo=UTC)
_CLOCK_SLACK = timedelta(days=1)


def _line(value: Any, limit: int) -> str:
    """An identifier or URL from the provider, storable as one line."""
    return clean_text(str(value)[:limit], single_line=True) if value is not None else ""


def _esp_slug(esp_name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", (esp_name or "esp").lower()).strip("_")


def _is_soft_bounce(event: AnymailTrackingEvent, esp_name: str) -> bool:
    """Anymail reports most soft bounces as ``bounced``: the provider's own field tells."""
    raw = event.esp_event if isinstance(event.esp_event, dict) else {}
    slug = _esp_slug(esp_name)
    if slug == "postmark":
        return raw.get("Type") in {"SoftBounce", "Transient", "DnsError"}
    if slug == "amazon_ses":
        bounce = raw.get("bounce") or {}
        # "Undetermined" too: SES itself only suppresses "Permanent".
        return isinstance(bounce, dict) and bounce.get("bounceType") in {"Transient", "Undetermined"}
    if slug == "brevo" or slug == "sendinblue":
        return raw.get("event") == "soft_bounce"
    if slug == "mailjet":
        return not raw.get("hard_bounce", True)
    if slug == "mailersend":
        return raw.get("type") == "activity.soft_bounced"
    if slug == "sparkpost":
        msys = raw.get("msys") or {}
        inner = next(iter(msys.values()), {}) if isinstance(msys, dict) and msys else raw
        bounce_class = str(inner.get("bounce_class", "")) if isinstance(inner, dict) else ""
        return bool(bounce_class) and bounce_class not in _SPARKPOST_HARD_CLASSES
    if slug == "mailgun":
        event_data = raw.get("event-data") or {}
        return isinstance(event_data, dict) and event_data.get("severity") == "temporary"
    if slug == "smtp":  # our own reading of a returned message (campaigns/events/bounces/ingest.py)
        return raw.get("bounce") == "soft"
    return False


def _kind_for(event: AnymailTrackingEvent, esp_name: str) -> str | None:
    if event.event_type in _IGNORED_EVENT_TYPES:
        return None
    kind = _KIND_FOR_EVENT_TYPE.get(event.event_type, Kind.OTHER)
    if kind == Kind.BOUNCED and _is_soft_bounce(event, esp_name):
        kind = Kind.SOFT_BOUNCED
    return kind


def _event_key(*, esp_name: str, event: AnymailTrackingEvent, recipient_hash: str, kind: str) -> str:
    """The unique id that makes a replayed webhook a no-op.

    Some providers reuse one id for several recipients (SES: one SNS message
    per bounce notification), so the recipient is always part of the key.
    """
    slug = _esp_slug(esp_name)
    if event.event_id:
        key = f"{slug}:{_line(event.event_id, 255)}:{recipient_hash[:16]}"
        if len(key) <= 255:
            return key
    parts = [
        slug,
        str(event.message_id or ""),
        kind,
        event.timestamp.isoformat() if isinstance(event.timestamp, datetime) else str(event.timestamp or ""),
        recipient_hash,
        str(event.click_url or ""),
    ]
    return f"{slug}:h:" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _metadata_delivery_id(metadata: Any) -> int | None:
    if not isinstance(metadata, dict):
        return None
    try:
        delivery_id = int(metadata.get("delivery_id"))  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    return delivery_id if 0 < delivery_id <= _MAX_ID else None


def _find_delivery(event: AnymailTrackingEvent) -> Delivery | None:
    delivery_id = _metadata_delivery_id(event.metadata)
    if delivery_id is not None:
        delivery = Delivery.objects.select_related("subscriber").filter(pk=delivery_id).first()
        if delivery is not None:
            return delivery
    message_id = _line(event.message_id, 255)
    if message_id:
        return Delivery.objects.select_related("subscriber").filter(esp_message_id=message_id).order_by("-pk").first()
    return None


def _unwrap_click_url(url: str) -> str:
    """A provider that also tracks clicks reports our own redirect: report its target."""
    from campaigns.events.tracking import read_click_url

    try:
        target = read_click_url(url)
    except ValueError:  # not even a URL ("http://[" fails to split): keep it as reported
        return url
    return target[1] if target else url


def record_provider_event(*, event: AnymailTrackingEvent, esp_name: str) -> DeliveryEvent | None:
    """Store one webhook event and act on it; None when ignored or already seen."""
    kind = _kind_for(event, esp_name)
    if kind is None:
        return None
    delivery = _find_delivery(event)
    recipient = _recipient(event.recipient, esp_name=esp_name)
    if not recipient and delivery is not None:
        recipient = delivery.subscriber.email
    recipient_hash = email_hash(recipient) if recipient else ""
    reason = scrub_text(event.description or event.mta_response or event.reject_reason or "")
    if event.description and event.mta_response:
        reason = scrub_text(f"{event.description}: {event.mta_response}")
    url = ""
    if kind == Kind.CLICKED and event.click_url:
        url = _line(_unwrap_click_url(_line(event.click_url, 4000)), 2000)
    stored = _store(
        DeliveryEvent(
            delivery=delivery,
            campaign_id=delivery.campaign_id if delivery else None,
            kind=kind,
            event_id=_event_key(esp_name=esp_name, event=event, recipient_hash=recipient_hash, kind=kind),
            recipient_hash=recipient_hash,
            esp_message_id=_line(event.message_id or "", 255),
            reason=reason,
            url=url,
            occurred_at=_occurred_at(event.timestamp),
            payload={"esp": esp_name, "event_type": event.event_type, "raw": scrub_payload(event.esp_event)},
        ),
        recipient=recipient,
    )
    return stored


def _recipient(value: Any, *, esp_name: str) -> str:
    """The event's address, or "" when it cannot be one.

    Refused rather than cleaned: an address with a character taken out is
    someone else's, and suppressing it would be wrong.
    """
    if not isinstance(value, str) or not value.strip():
        return ""
    address = value.strip()
    if len(address) > _MAX_ADDRESS or "@" not in address or has_control_characters(address):
        logger.warning("%s event: recipient is not an address, left out", esp_name)
        return ""
    return address


def _occurred_at(value: Any) -> datetime:
    """The provider's timestamp when it is plausible, else the time the event arrived."""
    now = timezone.now()
    if not isinstance(value, datetime):
        return now
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value if _EARLIEST_EVENT <= value <= now + _CLOCK_SLACK else now


def refuse_webhook(
    *, provider: str, reason: str, body: bytes, event_id: str = "", event_type: str = ""
) -> RefusedWebhook:
    """Record an authenticated webhook event that cannot be used; a replay adds nothing."""
    fingerprint = hashlib.sha256(provider.encode() + b"\x1f" + body).hexdigest()
    fields = {
        "provider": _line(provider, 64),
        "event_id": _line(event_id, 255),
        "event_type": _line(event_type, 100),
        "reason": scrub_text(reason) or "?",
    }
    try:
        with transaction.atomic():
            refusal, _created = RefusedWebhook.objects.get_or_create(fingerprint=fingerprint, defaults=fields)
    except IntegrityError:  # the same event, refused by a concurrent request
        refusal = RefusedWebhook.objects.get(fingerprint=fingerprint)
    return refusal


def _store(event: DeliveryEvent, *, recipient: str) -> DeliveryEvent | None:
    """Insert the event and apply its consequences in one transaction; replays do nothing."""
    with transaction.atomic():
        try:
            # The savepoint keeps a duplicate from breaking the outer transaction.
            with transaction.atomic():
                event.save(force_insert=True)
        except IntegrityError:
            return None
        if event.delivery_id is not None and event.campaign_id is not None:
            count_if_first(event, delivery_id=event.delivery_id, campaign_id=event.campaign_id)
        if recipient:
            _apply_suppression(event, recipient=recipient)
    return event


def _apply_suppression(event: DeliveryEvent, *, recipient: str) -> None:
    reason = _SUPPRESSING.get(event.kind)
    if reason is not None:
        suppress(email=recipient, reason=reason, detail=event.reason or event.get_kind_display())
        return
    if event.kind in _SOFT_KINDS and _soft_bounce_limit_reached(event.recipient_hash):
        suppress(
            email=recipient,
            reason=Suppression.Reason.BOUNCED,
            detail=f"{settings.TOCSIN_SOFT_BOUNCE_LIMIT} soft bounces: {event.reason}"[:255],
        )


def _soft_bounce_limit_reached(recipient_hash: str) -> bool:
    """Soft bounces on distinct messages within the window.

    Counted per message, not per event: a provider reports a deferral on each
    retry of the same message, and a message that is retried three times and
    then delivered says nothing bad about the address.
    """
    since = timezone.now() - timedelta(days=settings.TOCSIN_SOFT_BOUNCE_WINDOW_DAYS)
    messages = (
        DeliveryEvent.objects.filter(recipient_hash=recipient_hash, kind__in=_SOFT_KINDS, occurred_at__gte=since)
        .values("esp_message_id")
        .distinct()
        .count()
    )
    return messages >= settings.TOCSIN_SOFT_BOUNCE_LIMIT


def on_tracking(sender: Any, event: AnymailTrackingEvent, esp_name: str, **kwargs: Any) -> None:
    """Receiver for ``anymail.signals.tracking`` (connected in ``CampaignsConfig.ready``)."""
    record_provider_event(event=event, esp_name=esp_name)


# --- First-party events: our click redirect and open pixel ------------------------


def record_first_party_event(*, delivery_id: int, kind: str, url: str = "") -> DeliveryEvent | None:
    """A click or open seen by Tocsin itself: once per delivery (and link, for clicks)."""
    delivery = Delivery.objects.filter(pk=delivery_id).only("pk", "campaign_id").first()
    if delivery is None:
        return None
    if kind == Kind.CLICKED:
        event_id = f"tocsin:click:{delivery_id}:{hashlib.sha256(url.encode()).hexdigest()[:32]}"
    else:
        event_id = f"tocsin:{kind}:{delivery_id}"
    if DeliveryEvent.objects.filter(event_id=event_id).exists():
        return None
    return _store(
        DeliveryEvent(
            delivery=delivery,
            campaign_id=delivery.campaign_id,
            kind=kind,
            event_id=event_id,
            url=url[:2000],
            payload={"esp": "tocsin"},
        ),
        recipient="",
    )


# How long after a campaign an unsubscribe still counts against it.
UNSUBSCRIBE_ATTRIBUTION_DAYS = 30


def record_unsubscribe(*, subscriber_id: int, when: datetime | None = None) -> DeliveryEvent | None:
    """Count a first-party unsubscribe (link, one-click POST) against the campaign that prompted it.

    Our unsubscribe tokens name the person, not the email, so the latest
    campaign sent to them in the last 30 days takes the count. The
    suppression itself is the subscribers app's business, not done here.
    """
    when = when or timezone.now()
    delivery = (
        Delivery.objects.filter(
            subscriber_id=subscriber_id,
            status=Delivery.Status.SENT,
            sent_at__gte=when - timedelta(days=UNSUBSCRIBE_ATTRIBUTION_DAYS),
            sent_at__lte=when,
        )
        .order_by("-sent_at", "-pk")
        .only("pk", "campaign_id")
        .first()
    )
    if delivery is None:
        return None
    return _store(
        DeliveryEvent(
            delivery=delivery,
            campaign_id=delivery.campaign_id,
            kind=Kind.UNSUBSCRIBED,
            event_id=f"tocsin:unsubscribed:{delivery.pk}",
            occurred_at=when,
            payload={"esp": "tocsin"},
        ),
        recipient="",
    )
