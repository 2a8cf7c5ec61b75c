"""Leaving and suppression: unsubscribing, bounces and complaints, coming back.

Every change appends a ``Consent`` row: the history is the evidence that we
stopped mailing someone when they asked, not only that they once said yes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from subscribers.models import (
    Consent,
    MailingList,
    Subscriber,
    Subscription,
    Suppression,
    email_hash,
    normalize_email,
)
from subscribers.signals import person_left, person_suppressed, person_updated, subscriptions_ended, unsubscribed

# Statuses that mean "never mail this person", each with its own reason.
_LEFT = {
    Subscriber.Status.UNSUBSCRIBED,
    Subscriber.Status.BOUNCED,
    Subscriber.Status.COMPLAINED,
    Subscriber.Status.ERASED,
}

_STATUS_FOR_REASON = {
    Suppression.Reason.UNSUBSCRIBED: Subscriber.Status.UNSUBSCRIBED,
    Suppression.Reason.STAFF: Subscriber.Status.UNSUBSCRIBED,
    Suppression.Reason.BOUNCED: Subscriber.Status.BOUNCED,
    Suppression.Reason.REJECTED: Subscriber.Status.BOUNCED,
    Suppression.Reason.COMPLAINED: Subscriber.Status.COMPLAINED,
}

_CHANNEL_FOR_REASON = {
    Suppression.Reason.BOUNCED: Consent.Channel.BOUNCE,
    Suppression.Reason.REJECTED: Consent.Channel.BOUNCE,
    Suppression.Reason.COMPLAINED: Consent.Channel.COMPLAINT,
    Suppression.Reason.STAFF: Consent.Channel.STAFF,
}

_SOURCE_FOR_CHANNEL = {
    Consent.Channel.PREFERENCES: Consent.Source.PREFERENCES,
    Consent.Channel.STAFF: Consent.Source.STAFF,
}


class SubscriberErased(Exception):
    """The person was erased (GDPR): there is nobody left to change."""


class ResubscribeRefused(Exception):
    """A bounced, complained or staff-suppressed address must sign up and confirm afresh."""


def _active_slugs(subscriber: Subscriber) -> list[str]:
    return sorted(
        subscriber.subscriptions.filter(status=Subscription.Status.ACTIVE).values_list("mailing_list__slug", flat=True)
    )


def unsubscribe(
    *,
    subscriber: Subscriber,
    channel: Consent.Channel | str,
    lists: Iterable[MailingList] | None = None,
    ip: str | None = None,
    user_agent: str = "",
    actor: Any = None,
    requested_at: datetime | None = None,
    source: Consent.Source | str | None = None,
    detail: str = "",
) -> bool:
    """Take ``subscriber`` off ``lists``, or off everything when ``lists`` is None.

    Leaving everything also suppresses the address. Idempotent: a second call
    changes nothing, adds no consent row and returns False. ``requested_at``
    is when the person asked, for a request applied later (it defaults to now).
    ``source`` and ``detail`` override what the consent row says by default
    (an import names its file).
    """
    channel = Consent.Channel(channel)
    now = timezone.now()
    with transaction.atomic():
        # The lock serialises a one-click POST racing the page's button.
        locked = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        if locked.status == Subscriber.Status.ERASED:
            raise SubscriberErased("this person was erased")
        active = locked.subscriptions.filter(status=Subscription.Status.ACTIVE)
        if lists is not None:
            active = active.filter(mailing_list__in=list(lists))
        slugs = sorted(active.values_list("mailing_list__slug", flat=True))
        ended_ids = list(active.values_list("mailing_list_id", flat=True))
        changed = bool(active.update(status=Subscription.Status.UNSUBSCRIBED, updated_at=now))
        if lists is not None and ended_ids:
            subscriptions_ended.send(sender=Subscriber, subscriber_id=locked.pk, list_ids=ended_ids)

        if lists is None:
            if locked.status not in _LEFT:
                locked.status = Subscriber.Status.UNSUBSCRIBED
                locked.unsubscribed_at = now
                locked.save(update_fields=["status", "unsubscribed_at"])
                changed = True
            _, created = Suppression.objects.get_or_create(
                email_hash=email_hash(locked.email),
                defaults={"reason": Suppression.Reason.UNSUBSCRIBED, "detail": channel.value},
            )
            changed = changed or created
            person_left.send(sender=Subscriber, subscriber_id=locked.pk)

        if changed:
            Consent.objects.create(
                subscriber=locked,
                email=locked.email,
                action=Consent.Action.UNSUBSCRIBE,
                lists=slugs,
                language=locked.language,
                source=source or _SOURCE_FOR_CHANNEL.get(channel, Consent.Source.SYSTEM),
                channel=channel,
                detail=(detail or ("all lists" if lists is None else "some lists"))[:255],
                ip_address=ip or None,
                user_agent=(user_agent or "")[:500],
                requested_at=requested_at or now,
                confirmed_at=now,
                actor=actor,
            )
            if lists is None:
                unsubscribed.send(sender=Subscriber, subscriber_id=locked.pk, channel=channel, when=now)
            else:
                person_updated.send(sender=Subscriber, subscriber=locked, changes=["lists removed"])
    subscriber.refresh_from_db()
    return changed


def apply_kept_unsubscribe(
    *, subscriber_id: int, channel: str, ip: str | None, user_agent: str, requested_at: datetime
) -> bool:
    """An unsubscribe that arrived while the database was down, kept in the broker until now.

    False when there is nobody to unsubscribe any more (erased, purged) or
    the person had already left.
    """
    subscriber = Subscriber.objects.filter(pk=subscriber_id).first()
    if subscriber is None or subscriber.status == Subscriber.Status.ERASED:
        return False
    try:
        return unsubscribe(
            subscriber=subscriber, channel=channel, ip=ip, user_agent=user_agent, requested_at=requested_at
        )
    except SubscriberErased:
        return False


def suppress(
    *,
    email: str,
    reason: Suppression.Reason | str,
    detail: str = "",
    source: Consent.Source | str = Consent.Source.SYSTEM,
    origin: str = "",
    actor: Any = None,
    occurred_at: datetime | None = None,
) -> Suppression:
    """Never mail ``email`` again, whether or not it belongs to a subscriber.

    Bounces and complaints can come from other streams (a transactional email,
    an old campaign to an address since erased), so this works by address.
    ``origin`` (an import's file and line), ``actor`` and ``occurred_at`` are
    kept on a new suppression as its evidence; ``source`` goes to the consent row.
    """
    reason = Suppression.Reason(reason)
    address = normalize_email(email)
    # Bounce texts quote the address; the suppression keeps only its hash.
    detail = re.sub(re.escape(address), "…", detail, flags=re.IGNORECASE) if address else detail
    now = timezone.now()
    with transaction.atomic():
        suppression, created = Suppression.objects.get_or_create(
            email_hash=email_hash(address),
            defaults={
                "reason": reason,
                "detail": detail[:255],
                "source": origin[:255],
                "actor": actor,
                "occurred_at": occurred_at,
            },
        )
        subscriber = Subscriber.objects.select_for_update().filter(email=address).first()
        if subscriber is None or subscriber.status == Subscriber.Status.ERASED:
            return suppression
        new_status = _STATUS_FOR_REASON.get(reason, Subscriber.Status.UNSUBSCRIBED)
        status_changed = subscriber.status != new_status
        lists_before = _active_slugs(subscriber)
        if new_status == Subscriber.Status.UNSUBSCRIBED:
            # A provider-side or staff unsubscribe is leaving everything, as on our own page.
            subscriber.subscriptions.filter(status=Subscription.Status.ACTIVE).update(
                status=Subscription.Status.UNSUBSCRIBED, updated_at=now
            )
        if status_changed:
            subscriber.status = new_status
            subscriber.unsubscribed_at = subscriber.unsubscribed_at or now
            subscriber.save(update_fields=["status", "unsubscribed_at"])
            person_suppressed.send(sender=Subscriber, subscriber=subscriber, reason=reason)
        person_left.send(sender=Subscriber, subscriber_id=subscriber.pk)
        if created or status_changed:
            Consent.objects.create(
                subscriber=subscriber,
                email=subscriber.email,
                action=Consent.Action.SUPPRESS,
                lists=lists_before,
                language=subscriber.language,
                source=source,
                channel=_CHANNEL_FOR_REASON.get(reason, Consent.Channel.NONE),
                detail=f"{reason.label}: {detail}"[:255] if detail else str(reason.label),
                requested_at=occurred_at or now,
                confirmed_at=now,
                actor=actor,
            )
    return suppression


def is_suppressed(email: str) -> bool:
    return Suppression.objects.filter(email_hash=email_hash(email)).exists()


def can_resubscribe(subscriber: Subscriber) -> bool:
    """Whether the preference centre may add lists for this person.

    Someone who unsubscribed may change their mind there; a bounce, a spam
    complaint or a staff suppression is not undone by a link in an old email.
    """
    if subscriber.status in {Subscriber.Status.PENDING, Subscriber.Status.CONFIRMED}:
        return True
    if subscriber.status != Subscriber.Status.UNSUBSCRIBED:
        return False
    return not (
        Suppression.objects.filter(email_hash=email_hash(subscriber.email))
        .exclude(reason=Suppression.Reason.UNSUBSCRIBED)
        .exists()
    )


def lift_suppression(*, email: str) -> bool:
    """Only a fresh, confirmed opt-in may call this: it lets the address be mailed again."""
    deleted, _ = Suppression.objects.filter(email_hash=email_hash(email)).delete()
    return bool(deleted)
