"""Sign-up and confirmation: how a person gets onto the lists, with evidence.

Every path in (the sign-up page, the embedded form, the JSON API, the CSV
import) goes through ``subscribe``; the link in the confirmation email goes
through ``confirm``. Each appends a Consent row: the exact wording shown, its
version and language, the lists, the page, the IP and the user agent.

Nothing here may tell a caller whether an address was already on the list:
the views answer every valid sign-up with the same page.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from outbox.relay import enqueue
from subscribers import consent_text, emails, tokens
from subscribers.models import (
    Consent,
    MailingList,
    Subscriber,
    Subscription,
    Suppression,
    email_hash,
    normalize_email,
)
from subscribers.services.leaving import is_suppressed, lift_suppression
from subscribers.text import address_problem, has_control_characters, name_problem
from subscribers.tokens import ExpiredToken, InvalidToken

logger = logging.getLogger(__name__)

__all__ = [
    "AlreadyConfirmed",
    "Confirmation",
    "ExpiredToken",
    "InvalidSignup",
    "InvalidToken",
    "SignupGone",
    "SignupRequest",
    "SignupResult",
    "check_confirmation",
    "confirm",
    "send_confirmation",
    "send_welcome",
    "subscribe",
]

# Statuses a person reaches by leaving (or by the mail system leaving for
# them): only a fresh, confirmed sign-up brings them back.
LEFT = (
    Subscriber.Status.UNSUBSCRIBED,
    Subscriber.Status.BOUNCED,
    Subscriber.Status.COMPLAINED,
    Subscriber.Status.ERASED,
)


# The two emails go out from Celery tasks (subscribers/tasks.py), queued by
# name: the tasks call this module, so importing them here would be a circle.
SEND_CONFIRMATION_TASK = "subscribers.tasks.send_confirmation_email"
SEND_WELCOME_TASK = "subscribers.tasks.send_welcome_email"

# A hard-bounced address gets at most one confirmation attempt in this time.
BOUNCED_CONFIRMATION_INTERVAL = timedelta(days=30)
HARD_BOUNCE_REASONS = (Suppression.Reason.BOUNCED, Suppression.Reason.REJECTED)


class InvalidSignup(ValueError):
    """Input no form should have let through (API and import callers turn it into 400)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class AlreadyConfirmed(Exception):
    """This confirmation link was already used."""


class SignupGone(InvalidToken):
    """Genuine link, but the sign-up it confirms no longer stands (purged, erased, or the person left since)."""


@dataclass(frozen=True)
class SignupResult:
    # None only when an import or API call names a suppressed address that
    # has no subscriber row (erased, or suppressed by a bounce elsewhere).
    subscriber: Subscriber | None
    consent: Consent | None
    created: bool
    # pending: waiting for the person to click the link in the email;
    # confirmed: on the lists now; suppressed: left before, nothing changed.
    outcome: str
    confirmation_queued: bool = False


# --- Validation shared by every caller ---------------------------------------------


def clean_email(value: str) -> str:
    if has_control_characters(value):
        raise InvalidSignup("email", str(_("An email address cannot contain line breaks or control characters.")))
    email = normalize_email(value)
    if not email:
        raise InvalidSignup("email", str(_("Enter your email address.")))
    if len(email) > 254:  # RFC 5321's limit on a deliverable address
        raise InvalidSignup("email", str(_("That email address is too long.")))
    problem = address_problem(email)
    if problem:
        raise InvalidSignup("email", problem)
    return email


def clean_name(value: str) -> str:
    if has_control_characters(value):
        raise InvalidSignup("name", str(_("A name cannot contain line breaks or control characters.")))
    name = " ".join(value.split())
    if len(name) > 100:
        raise InvalidSignup("name", str(_("Please shorten your name to 100 characters.")))
    # A name greets the person in the confirmation email: a bot that writes a
    # link there uses our email to deliver its spam.
    problem = name_problem(name)
    if problem:
        raise InvalidSignup("name", problem)
    return name


def clean_language(value: str) -> str:
    codes = {code for code, _label in settings.LANGUAGES}
    if value not in codes:
        raise InvalidSignup("language", str(_("Choose one of the languages offered.")))
    return value


def _resolve_lists(lists: Iterable[MailingList | str]) -> list[MailingList]:
    wanted = list(lists)
    objects = [item for item in wanted if isinstance(item, MailingList)]
    slugs = {item for item in wanted if isinstance(item, str)}
    if slugs:
        found = list(MailingList.objects.filter(slug__in=slugs))
        missing = slugs - {mailing_list.slug for mailing_list in found}
        if missing:
            raise InvalidSignup("lists", str(_("Unknown list: %(slugs)s")) % {"slugs": ", ".join(sorted(missing))})
        objects.extend(found)
    unique = {mailing_list.pk: mailing_list for mailing_list in objects}
    if not unique:
        raise InvalidSignup("lists", str(_("Choose at least one topic.")))
    return sorted(unique.values(), key=lambda mailing_list: (mailing_list.position, mailing_list.name))


def _clip(value: str, length: int) -> str:
    return (value or "")[:length]


# --- subscribe -----------------------------------------------------------------------


def _lock_or_create(*, email: str, name: str, language: str) -> tuple[Subscriber, bool]:
    """The subscriber row for ``email``, locked for this transaction."""
    existing = Subscriber.objects.select_for_update().filter(email=email).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            return Subscriber.objects.create(email=email, name=name, language=language), True
    except IntegrityError:
        # Two sign-ups for one new address raced; the other one created it.
        return Subscriber.objects.select_for_update().get(email=email), False


def _activate(subscriber: Subscriber, mailing_lists: Sequence[MailingList], *, exclusive: bool = False) -> None:
    """Make ``mailing_lists`` active; with ``exclusive``, every other list inactive."""
    if exclusive:
        subscriber.subscriptions.exclude(mailing_list__in=mailing_lists).update(
            status=Subscription.Status.UNSUBSCRIBED, updated_at=timezone.now()
        )
    for mailing_list in mailing_lists:
        Subscription.objects.update_or_create(
            subscriber=subscriber, mailing_list=mailing_list, defaults={"status": Subscription.Status.ACTIVE}
        )


def _hard_bounced(subscriber: Subscriber) -> bool:
    if subscriber.status == Subscriber.Status.BOUNCED:
        return True
    # The suppression outlives the row: a bounce from another stream, or a
    # pending row purged since.
    return Suppression.objects.filter(email_hash=email_hash(subscriber.email), reason__in=HARD_BOUNCE_REASONS).exists()


def _claim_confirmation_slot(subscriber: Subscriber, *, now: datetime) -> bool:
    """At most one confirmation email per address per interval (a month after a hard bounce).

    A conditional UPDATE rather than read-then-write: of two racing sign-ups
    for one address, exactly one sees its row updated and sends.
    """
    if _hard_bounced(subscriber):
        # A mailbox that does not exist may have been fixed, so it gets a
        # fresh chance; but each bounce costs the sender reputation with the
        # providers, and a stranger could otherwise make us bounce hourly.
        cutoff = now - BOUNCED_CONFIRMATION_INTERVAL
    else:
        cutoff = now - timedelta(seconds=settings.TOCSIN_CONFIRMATION_EMAIL_INTERVAL)
    claimed = (
        Subscriber.objects.filter(pk=subscriber.pk)
        .filter(Q(last_confirmation_sent_at__isnull=True) | Q(last_confirmation_sent_at__lt=cutoff))
        .update(last_confirmation_sent_at=now)
    )
    if claimed:
        subscriber.last_confirmation_sent_at = now
    return bool(claimed)


def subscribe(
    *,
    email: str,
    name: str = "",
    language: str = "en",
    lists: Iterable[MailingList | str],
    source: str,
    basis: str = Consent.Basis.EXPRESS,
    implied_since: date | None = None,
    double_opt_in: bool = True,
    wording: str | None = None,
    wording_version: str | None = None,
    wording_language: str | None = None,
    page_url: str = "",
    ip: str | None = None,
    user_agent: str = "",
    actor: object | None = None,
    detail: str = "",
    requested_at: datetime | None = None,
) -> SignupResult:
    """Record a sign-up request and either ask for confirmation or confirm at once.

    With ``double_opt_in`` (the default, and the only choice for the public
    forms) a new address becomes a pending person, an existing one stays
    exactly as it is (status, name, language, lists) until the link is
    followed, and a confirmation email goes out: at most one per address per
    TOCSIN_CONFIRMATION_EMAIL_INTERVAL, one a month after a hard bounce. Without it (API,
    CSV import with recorded consent) the person is confirmed at once, unless
    they unsubscribed, bounced or complained: that is never overridden by
    staff or an import, only by the person confirming a fresh sign-up.

    ``wording`` defaults to the current consent text in ``wording_language``
    (itself defaulting to ``language``). ``requested_at`` is when consent was
    given, for imports that know it; it defaults to now.
    """
    email = clean_email(email)
    name = clean_name(name)
    language = clean_language(language)
    mailing_lists = _resolve_lists(lists)
    if source not in Consent.Source.values:
        raise InvalidSignup("source", f"unknown consent source {source!r}")
    if basis not in (Consent.Basis.EXPRESS, Consent.Basis.IMPLIED):
        raise InvalidSignup("basis", f"unknown consent basis {basis!r}")
    wording_language = wording_language or language
    if wording is None:
        wording_version = wording_version or consent_text.CURRENT_VERSION
        try:
            wording = consent_text.consent_wording(language=wording_language, version=wording_version)
        except consent_text.UnknownWordingVersion:
            raise InvalidSignup("wording_version", f"unknown wording version {wording_version!r}") from None
    now = timezone.now()
    slugs = [mailing_list.slug for mailing_list in mailing_lists]
    evidence = {
        "email": email,
        "basis": basis,
        "implied_since": implied_since,
        "lists": slugs,
        "wording": wording,
        "wording_version": wording_version or "",
        "language": wording_language,
        "source": source,
        "detail": _clip(detail, 255),
        "page_url": _clip(page_url, 500),
        "ip_address": ip,
        "user_agent": _clip(user_agent, 500),
        "requested_at": requested_at or now,
        "actor": actor,
    }

    with transaction.atomic():
        if not double_opt_in:
            existing = Subscriber.objects.select_for_update().filter(email=email).first()
            if is_suppressed(email) or (existing is not None and existing.status in LEFT):
                # The SPEC: suppressed addresses stay suppressed across lists
                # and re-imports. Nothing is written; the caller reports it.
                return SignupResult(subscriber=existing, consent=None, created=False, outcome="suppressed")
        subscriber, created = _lock_or_create(email=email, name=name, language=language)

        if not double_opt_in:
            actions: dict[str, str] = {
                Consent.Source.IMPORT: Consent.Action.IMPORT,
                Consent.Source.API: Consent.Action.API,
            }
            action = actions.get(source, Consent.Action.CONFIRM)
            fields = ["status"]
            if subscriber.status != Subscriber.Status.CONFIRMED:
                subscriber.status = Subscriber.Status.CONFIRMED
                subscriber.confirmed_at = now
                fields.append("confirmed_at")
                if not created:
                    subscriber.language = language
                    fields.append("language")
            if name and not subscriber.name:
                subscriber.name = name
                fields.append("name")
            subscriber.save(update_fields=fields)
            _activate(subscriber, mailing_lists)
            consent = Consent.objects.create(subscriber=subscriber, action=action, confirmed_at=now, **evidence)
            return SignupResult(subscriber=subscriber, consent=consent, created=created, outcome="confirmed")

        # Double opt-in. Nothing about a person already here changes until
        # they follow the link: anyone can type anyone's address. What this
        # request asks for (lists, name, language, the wording shown) waits in
        # its Consent row, which the link names; ``confirm`` applies it.
        consent = Consent.objects.create(
            subscriber=subscriber,
            action=Consent.Action.SIGNUP,
            requested_name=name,
            requested_language=language,
            **evidence,
        )
        queued = _claim_confirmation_slot(subscriber, now=now)
        if queued:
            enqueue(SEND_CONFIRMATION_TASK, args=[subscriber.pk, consent.pk])
        return SignupResult(
            subscriber=subscriber, consent=consent, created=created, outcome="pending", confirmation_queued=queued
        )


# --- confirm -----------------------------------------------------------------------------


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
        _activate(subscriber, wanted.lists, exclusive=first_confirmation)
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
            user_agent=_clip(user_agent, 500),
            requested_at=request.requested_at,
            confirmed_at=now,
        )
        # A fresh confirmed sign-up is the one thing that lifts a suppression.
        lift_suppression(email=subscriber.email)
        if first_confirmation:
            enqueue(SEND_WELCOME_TASK, args=[subscriber.pk])
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
