"""The preference centre: lists, language, name, tracking and a pause, chosen by the person.

Every change appends a ``Consent`` row, the way leaving does.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from django.db import transaction
from django.utils import timezone

from subscribers.models import (
    Consent,
    MailingList,
    Subscriber,
    Subscription,
    Suppression,
    email_hash,
)
from subscribers.services.leaving import ResubscribeRefused, SubscriberErased, can_resubscribe
from subscribers.signals import person_updated, subscriptions_ended


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


def _choose_lists(locked: Subscriber, chosen: dict[int, MailingList], now: datetime) -> tuple[bool, bool]:
    """Put the person on exactly the chosen public lists: (lists added, lists removed)."""
    public_ids = set(MailingList.objects.filter(public=True).values_list("pk", flat=True))
    current = {s.mailing_list_id: s for s in locked.subscriptions.all()}
    added = False
    for list_id in chosen:
        sub = current.get(list_id)
        if sub is None:
            Subscription.objects.create(subscriber=locked, mailing_list_id=list_id, created_at=now)
            added = True
        elif sub.status != Subscription.Status.ACTIVE:
            sub.status = Subscription.Status.ACTIVE
            sub.save(update_fields=["status", "updated_at"])
            added = True
    if added and not can_resubscribe(locked):
        raise ResubscribeRefused("this address must sign up again")
    removed = [
        sub.pk
        for list_id, sub in current.items()
        if list_id in public_ids and list_id not in chosen and sub.status == Subscription.Status.ACTIVE
    ]
    Subscription.objects.filter(pk__in=removed).update(status=Subscription.Status.UNSUBSCRIBED, updated_at=now)
    if removed:
        ended = [list_id for list_id, sub in current.items() if sub.pk in removed]
        subscriptions_ended.send(sender=Subscriber, subscriber_id=locked.pk, list_ids=ended)
    return added, bool(removed)


def _set_profile(
    locked: Subscriber, *, language: str, name: str, tracking_allowed: bool, paused_until: date | None
) -> list[str]:
    """Apply the form's other fields; what changed, as the consent row's detail says it."""
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
    return changes


def _come_back(locked: Subscriber, now: datetime) -> None:
    locked.status = Subscriber.Status.CONFIRMED
    locked.unsubscribed_at = None
    locked.confirmed_at = locked.confirmed_at or now
    Suppression.objects.filter(email_hash=email_hash(locked.email), reason=Suppression.Reason.UNSUBSCRIBED).delete()


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
        added, removed = _choose_lists(locked, chosen, now)
        changes = _set_profile(
            locked, language=language, name=name, tracking_allowed=tracking_allowed, paused_until=paused_until
        )
        if added:
            changes.append("lists added")
        if removed:
            changes.append("lists removed")
        if locked.status == Subscriber.Status.UNSUBSCRIBED and chosen:
            _come_back(locked, now)
            changes.append("resubscribed")
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
        if changes:
            person_updated.send(sender=Subscriber, subscriber=locked, changes=changes)
    subscriber.refresh_from_db()
    return subscriber
