"""Leaving, suppression, the preference centre and GDPR erasure.

Every change appends a ``Consent`` row: the history is the evidence that we
stopped mailing someone when they asked, not only that they once said yes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
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
from subscribers.signals import person_erased, person_left, personal_data_requested, unsubscribed

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
) -> bool:
    """Take ``subscriber`` off ``lists``, or off everything when ``lists`` is None.

    Leaving everything also suppresses the address. Idempotent: a second call
    changes nothing, adds no consent row and returns False. ``requested_at``
    is when the person asked, for a request applied later (it defaults to now).
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
        changed = bool(active.update(status=Subscription.Status.UNSUBSCRIBED, updated_at=now))

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
                source=_SOURCE_FOR_CHANNEL.get(channel, Consent.Source.SYSTEM),
                channel=channel,
                detail="all lists" if lists is None else "some lists",
                ip_address=ip or None,
                user_agent=(user_agent or "")[:500],
                requested_at=requested_at or now,
                confirmed_at=now,
                actor=actor,
            )
            if lists is None:
                unsubscribed.send(sender=Subscriber, subscriber_id=locked.pk, channel=channel, when=now)
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


def suppress(*, email: str, reason: Suppression.Reason | str, detail: str = "") -> Suppression:
    """Never mail ``email`` again, whether or not it belongs to a subscriber.

    Bounces and complaints can come from other streams (a transactional email,
    an old campaign to an address since erased), so this works by address.
    """
    reason = Suppression.Reason(reason)
    address = normalize_email(email)
    # Bounce texts quote the address; the suppression keeps only its hash.
    detail = re.sub(re.escape(address), "…", detail, flags=re.IGNORECASE) if address else detail
    now = timezone.now()
    with transaction.atomic():
        suppression, created = Suppression.objects.get_or_create(
            email_hash=email_hash(address), defaults={"reason": reason, "detail": detail[:255]}
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
        person_left.send(sender=Subscriber, subscriber_id=subscriber.pk)
        if created or status_changed:
            Consent.objects.create(
                subscriber=subscriber,
                email=subscriber.email,
                action=Consent.Action.SUPPRESS,
                lists=lists_before,
                language=subscriber.language,
                source=Consent.Source.SYSTEM,
                channel=_CHANNEL_FOR_REASON.get(reason, Consent.Channel.NONE),
                detail=f"{reason.label}: {detail}"[:255] if detail else str(reason.label),
                requested_at=now,
                confirmed_at=now,
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


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months, clamped to the month's last day."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=min(day.day, last))
        except ValueError:
            continue
    raise ValueError(f"cannot add {months} months to {day}")  # pragma: no cover


def update_preferences(
    *,
    subscriber: Subscriber,
    lists: Iterable[MailingList],
    language: str,
    name: str,
    tracking_allowed: bool,
    paused_until: date | None,
    ip: str | None = None,
    user_agent: str = "",
    wording: str = "",
    wording_version: str = "",
) -> Subscriber:
    """Apply a preference-centre form: ``lists`` is the full choice among public lists.

    Someone who had unsubscribed and ticks lists again comes back: the link
    that brought them here reached their mailbox, and ticking a box is an
    express opt-in. Bounced and complained addresses cannot come back this way
    (``ResubscribeRefused``): they must sign up and confirm afresh.
    """
    chosen = {ml.pk: ml for ml in lists}
    now = timezone.now()
    with transaction.atomic():
        locked = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        if locked.status == Subscriber.Status.ERASED:
            raise SubscriberErased("this person was erased")
        public_ids = set(MailingList.objects.filter(public=True).values_list("pk", flat=True))
        current = {s.mailing_list_id: s for s in locked.subscriptions.all()}
        added: list[int] = []
        for list_id in chosen:
            sub = current.get(list_id)
            if sub is None:
                Subscription.objects.create(subscriber=locked, mailing_list_id=list_id, created_at=now)
                added.append(list_id)
            elif sub.status != Subscription.Status.ACTIVE:
                sub.status = Subscription.Status.ACTIVE
                sub.save(update_fields=["status", "updated_at"])
                added.append(list_id)
        if added and not can_resubscribe(locked):
            raise ResubscribeRefused("this address must sign up again")
        removed = [
            sub
            for list_id, sub in current.items()
            if list_id in public_ids and list_id not in chosen and sub.status == Subscription.Status.ACTIVE
        ]
        Subscription.objects.filter(pk__in=[s.pk for s in removed]).update(
            status=Subscription.Status.UNSUBSCRIBED, updated_at=now
        )

        changes: list[str] = []
        if language != locked.language:
            changes.append(f"language {locked.language}→{language}")
            locked.language = language
        if name != locked.name:
            changes.append("name changed")
            locked.name = name
        if tracking_allowed != locked.tracking_allowed:
            changes.append("tracking on" if tracking_allowed else "tracking off")
            locked.tracking_allowed = tracking_allowed
        if paused_until != locked.paused_until:
            changes.append(f"paused until {paused_until.isoformat()}" if paused_until else "pause ended")
            locked.paused_until = paused_until
        if added:
            changes.append("lists added")
        if removed:
            changes.append("lists removed")

        came_back = locked.status == Subscriber.Status.UNSUBSCRIBED and bool(chosen)
        if came_back:
            locked.status = Subscriber.Status.CONFIRMED
            locked.unsubscribed_at = None
            locked.confirmed_at = locked.confirmed_at or now
            changes.append("resubscribed")
            Suppression.objects.filter(
                email_hash=email_hash(locked.email), reason=Suppression.Reason.UNSUBSCRIBED
            ).delete()
        locked.save()

        Consent.objects.create(
            subscriber=locked,
            email=locked.email,
            action=Consent.Action.CHANGE,
            basis=Consent.Basis.EXPRESS if added else Consent.Basis.NONE,
            lists=sorted(ml.slug for ml in chosen.values()),
            wording=wording,
            wording_version=wording_version,
            language=locked.language,
            source=Consent.Source.PREFERENCES,
            channel=Consent.Channel.PREFERENCES,
            detail="; ".join(changes)[:255] or "no change",
            ip_address=ip or None,
            user_agent=(user_agent or "")[:500],
            requested_at=now,
            confirmed_at=now,
        )
    subscriber.refresh_from_db()
    return subscriber


def erased_email(original: str) -> str:
    return f"erased-{email_hash(original)[:12]}@erased.invalid"


def erase(*, subscriber: Subscriber, actor: Any) -> Subscriber:
    """GDPR erasure: drop the person, keep the events and the suppression.

    The consent history stays (it proves what happened) but its personal data
    is replaced; the suppression, keyed by a one-way hash of the address,
    keeps the address from ever being mailed again by a re-import. Apps
    above drop the person from their own rows on ``person_erased``.
    """
    with transaction.atomic():
        locked = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        if locked.status == Subscriber.Status.ERASED:
            return locked
        digest = email_hash(locked.email)
        replacement = erased_email(locked.email)
        Suppression.objects.update_or_create(
            email_hash=digest, defaults={"reason": Suppression.Reason.ERASED, "detail": ""}
        )
        Consent.objects.filter(subscriber=locked).erase_personal_data(replacement_email=replacement)
        person_erased.send(sender=Subscriber, subscriber=locked, email=locked.email, replacement_email=replacement)
        person_left.send(sender=Subscriber, subscriber_id=locked.pk)
        locked.subscriptions.update(status=Subscription.Status.UNSUBSCRIBED, updated_at=timezone.now())
        now = timezone.now()
        locked.email = replacement
        locked.name = ""
        locked.status = Subscriber.Status.ERASED
        locked.unsubscribed_at = locked.unsubscribed_at or now
        locked.save()
        Consent.objects.create(
            subscriber=locked,
            email=replacement,
            action=Consent.Action.ERASE,
            source=Consent.Source.STAFF,
            channel=Consent.Channel.STAFF,
            requested_at=now,
            confirmed_at=now,
            actor=actor,
        )
    subscriber.refresh_from_db()
    return subscriber


def iso(value: Any) -> Any:
    """A date or time as ISO 8601 text, anything else as it is: the export's JSON."""
    return value.isoformat() if hasattr(value, "isoformat") else value


def export_personal_data(subscriber: Subscriber) -> dict[str, Any]:
    """Everything we hold about one person (GDPR right of access), JSON-ready.

    Apps above add their own sections (campaigns the emails received,
    donations the gifts, actions the signatures) on ``personal_data_requested``.
    """
    profile = {
        "id": subscriber.pk,
        "email": subscriber.email,
        "name": subscriber.name,
        "language": subscriber.language,
        "status": subscriber.status,
        "tracking_allowed": subscriber.tracking_allowed,
        "paused_until": iso(subscriber.paused_until),
        "created_at": iso(subscriber.created_at),
        "confirmed_at": iso(subscriber.confirmed_at),
        "unsubscribed_at": iso(subscriber.unsubscribed_at),
        "suppressed": is_suppressed(subscriber.email),
    }
    subscriptions = [
        {
            "list": sub.mailing_list.slug,
            "list_name": sub.mailing_list.name,
            "status": sub.status,
            "created_at": iso(sub.created_at),
            "updated_at": iso(sub.updated_at),
        }
        for sub in subscriber.subscriptions.select_related("mailing_list").order_by("created_at", "pk")
    ]
    consents = [
        {field: iso(getattr(consent, field)) for field in (*Consent.EVIDENCE_FIELDS, "created_at")}
        for consent in subscriber.consents.all()
    ]
    export: dict[str, Any] = {
        "profile": profile,
        "subscriptions": subscriptions,
        "consents": consents,
    }
    for _receiver, sections in personal_data_requested.send(sender=Subscriber, subscriber=subscriber):
        if isinstance(sections, dict):
            export.update(sections)
    return export
