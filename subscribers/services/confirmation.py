"""Confirmation: the link in the sign-up email, and the two emails themselves.

``confirm`` applies the sign-up request the link names (its lists, name and
language), once; a link from before the person left never brings them back.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from outbox.relay import enqueue
from subscribers import emails, tokens
from subscribers.models import Consent, MailingList, Subscriber, Subscription
from subscribers.services.leaving import lift_suppression
from subscribers.services.signup import activate_lists, active_list_ids, announce_confirmed, clip
from subscribers.signals import person_confirmed, person_updated
from subscribers.tokens import InvalidToken

# Queued by name, as the confirmation email is (subscribers/services/signup.py says why).
SEND_WELCOME_TASK = "subscribers.tasks.send_welcome_email"


class AlreadyConfirmed(Exception):
    """This confirmation link was already used."""


class SignupGone(InvalidToken):
    """Genuine link, but the sign-up it confirms no longer stands (purged, erased, or the person left since)."""


def _confirmation_marker(request: Consent) -> str:
    # Ties a confirmation to the request it confirms, so a second click on the
    # same link is recognised; also readable in the admin's consent history.
    return f"confirms sign-up #{request.pk}"


def _left_since(subscriber: Subscriber, request: Consent) -> bool:
    later = Q(created_at__gt=request.created_at) | Q(created_at=request.created_at, pk__gt=request.pk)
    return (
        subscriber.consents.filter(later)
        .filter(action__in=[Consent.Action.UNSUBSCRIBE, Consent.Action.SUPPRESS, Consent.Action.ERASE])
        .exists()
    )


def _load_request(token: str, *, lock: bool) -> tuple[Subscriber, Consent]:
    claim = tokens.read_confirmation_token(token)  # InvalidToken / ExpiredToken
    subscribers = Subscriber.objects.select_for_update() if lock else Subscriber.objects.all()
    subscriber = subscribers.filter(pk=claim.subscriber_id).first()
    if subscriber is None or subscriber.status == Subscriber.Status.ERASED:
        raise SignupGone("this sign-up no longer exists")
    request = Consent.objects.filter(pk=claim.consent_id, subscriber=subscriber, action=Consent.Action.SIGNUP).first()
    if request is None:
        raise SignupGone("this sign-up no longer exists")
    if subscriber.consents.filter(action=Consent.Action.CONFIRM, detail=_confirmation_marker(request)).exists():
        raise AlreadyConfirmed("this link was already used")
    if _left_since(subscriber, request):
        # A link from before the person left must not bring them back: only
        # a fresh sign-up does.
        raise SignupGone("the person left after this sign-up")
    return subscriber, request


@dataclass(frozen=True)
class SignupRequest:
    """What following a confirmation link will apply: shown on the page before the button."""

    subscriber: Subscriber
    lists: list[MailingList]
    # The name and email language asked for; the person's own when the form left them out.
    name: str
    language: str


def _requested(subscriber: Subscriber, request: Consent) -> SignupRequest:
    lists = list(MailingList.objects.filter(slug__in=request.lists))
    return SignupRequest(
        subscriber=subscriber,
        lists=lists,
        name=request.requested_name or subscriber.name,
        # Requests recorded before requested_language existed changed the row at once.
        language=request.requested_language or subscriber.language,
    )


def check_confirmation(*, token: str) -> SignupRequest:
    """The sign-up request a confirmation link is for, changing nothing (the GET page)."""
    subscriber, request = _load_request(token, lock=False)
    return _requested(subscriber, request)


@dataclass(frozen=True)
class Confirmation:
    subscriber: Subscriber
    # True when this made the person confirmed (new, or back after leaving):
    # they get the welcome email. False for a confirmed person adding topics.
    welcomed: bool


def confirm(*, token: str, ip: str | None = None, user_agent: str = "") -> Confirmation:
    """The person clicked the button: apply the sign-up request named in ``token``.

    The lists, name and email language are the ones asked for in that
    request, whatever was typed with the address before or since. Raises
    InvalidToken (tampered), ExpiredToken, SignupGone or AlreadyConfirmed,
    and then changes nothing.
    """
    with transaction.atomic():
        subscriber, request = _load_request(token, lock=True)
        wanted = _requested(subscriber, request)
        now = timezone.now()
        first_confirmation = subscriber.status != Subscriber.Status.CONFIRMED
        already = set() if first_confirmation else active_list_ids(subscriber)
        subscriber.status = Subscriber.Status.CONFIRMED
        subscriber.confirmed_at = now
        subscriber.unsubscribed_at = None
        # A form with no name leaves the name alone: an empty box is not a
        # wish to be greeted by nobody.
        subscriber.name = wanted.name
        subscriber.language = wanted.language
        subscriber.save(update_fields=["status", "confirmed_at", "unsubscribed_at", "name", "language"])
        # Coming back from pending (a new person, or one who had left), the
        # lists ticked on this form are the whole choice; a confirmed person
        # adding topics keeps the ones they had.
        activate_lists(subscriber, wanted.lists, exclusive=first_confirmation)
        announce_confirmed(subscriber, wanted.lists, already=already, source=request.source)
        Consent.objects.create(
            subscriber=subscriber,
            email=subscriber.email,
            action=Consent.Action.CONFIRM,
            basis=request.basis,
            implied_since=request.implied_since,
            lists=request.lists,
            wording=request.wording,
            wording_version=request.wording_version,
            language=request.language,
            requested_name=request.requested_name,
            requested_language=request.requested_language,
            source=request.source,
            detail=_confirmation_marker(request),
            page_url=request.page_url,
            ip_address=ip,
            user_agent=clip(user_agent, 500),
            requested_at=request.requested_at,
            confirmed_at=now,
        )
        # A fresh confirmed sign-up is the one thing that lifts a suppression.
        lift_suppression(email=subscriber.email)
        if first_confirmation:
            enqueue(SEND_WELCOME_TASK, args=[subscriber.pk])
            person_confirmed.send(sender=Subscriber, subscriber=subscriber)
        else:
            person_updated.send(sender=Subscriber, subscriber=subscriber, changes=["lists added"])
    return Confirmation(subscriber=subscriber, welcomed=first_confirmation)


# --- the two emails (called by the Celery tasks) --------------------------------------------


def send_confirmation(*, subscriber_id: int, consent_id: int) -> bool:
    """Send the confirmation email for one sign-up request; False when it no longer applies."""
    subscriber = Subscriber.objects.filter(pk=subscriber_id).first()
    request = Consent.objects.filter(pk=consent_id, subscriber_id=subscriber_id, action=Consent.Action.SIGNUP).first()
    if (
        subscriber is None
        or request is None
        or subscriber.status == Subscriber.Status.ERASED
        or _left_since(subscriber, request)
    ):
        # Purged, erased, or the address bounced or left since the request:
        # the link could not be used anyway. (Someone who had left before
        # asking again is mailed: that is how they come back.)
        return False
    wanted = _requested(subscriber, request)
    context = {
        "subscriber": subscriber,
        "name": wanted.name,
        "language": wanted.language,
        "lists": wanted.lists,
        "confirm_url": tokens.confirmation_url(subscriber_id=subscriber.pk, consent_id=request.pk),
        "max_age_days": settings.TOCSIN_CONFIRMATION_MAX_AGE_DAYS,
    }
    # In the language asked for: the person who filled the form reads it.
    emails.make_message("confirm", subscriber.email, context, language=wanted.language).send()
    return True


def send_welcome(*, subscriber_id: int) -> bool:
    """Send the welcome email after a confirmation; False when the person is no longer confirmed."""
    subscriber = Subscriber.objects.filter(pk=subscriber_id, status=Subscriber.Status.CONFIRMED).first()
    if subscriber is None:
        return False
    lists = list(
        MailingList.objects.filter(
            subscriptions__subscriber=subscriber, subscriptions__status=Subscription.Status.ACTIVE
        )
    )
    context = {
        "subscriber": subscriber,
        "lists": lists,
        "preferences_url": tokens.preferences_url(subscriber),
        "unsubscribe_url": tokens.unsubscribe_url(subscriber),
    }
    emails.make_message("welcome", subscriber.email, context, language=subscriber.language).send()
    return True
