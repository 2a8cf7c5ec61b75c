"""Sign-up: how a person gets onto the lists, with evidence.

Every path in (the sign-up page, the embedded form, the JSON API, the CSV
import) goes through ``subscribe``; the link in the confirmation email goes
through ``confirmation.confirm``. Each appends a Consent row: the exact wording shown, its
version and language, the lists, the page, the IP and the user agent.

Nothing here may tell a caller whether an address was already on the list:
the views answer every valid sign-up with the same page.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from outbox.relay import enqueue
from subscribers import consent_text
from subscribers.models import (
    Consent,
    MailingList,
    Subscriber,
    Subscription,
    Suppression,
    email_hash,
    normalize_email,
)
from subscribers.services.leaving import is_suppressed
from subscribers.signals import person_confirmed, subscription_confirmed
from subscribers.text import address_problem, has_control_characters, name_problem

logger = logging.getLogger(__name__)

__all__ = ["InvalidSignup", "SignupResult", "clean_email", "clean_language", "clean_name", "subscribe"]

# Statuses a person reaches by leaving (or by the mail system leaving for
# them): only a fresh, confirmed sign-up brings them back.
LEFT = (
    Subscriber.Status.UNSUBSCRIBED,
    Subscriber.Status.BOUNCED,
    Subscriber.Status.COMPLAINED,
    Subscriber.Status.ERASED,
)


# The confirmation email goes out from a Celery task (subscribers/tasks.py),
# queued by name: the task calls these services, so importing it here would
# be a circle.
SEND_CONFIRMATION_TASK = "subscribers.tasks.send_confirmation_email"

# A hard-bounced address gets at most one confirmation attempt in this time.
BOUNCED_CONFIRMATION_INTERVAL = timedelta(days=30)
HARD_BOUNCE_REASONS = (Suppression.Reason.BOUNCED, Suppression.Reason.REJECTED)

# The consent action an at-once sign-up records, by where it came from.
_ACTION_FOR_SOURCE = {Consent.Source.IMPORT: Consent.Action.IMPORT, Consent.Source.API: Consent.Action.API}


class InvalidSignup(ValueError):
    """Input no form should have let through (API and import callers turn it into 400)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


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


def clip(value: str, length: int) -> str:
    """At most ``length`` characters of an evidence field (a browser's user agent, a page's address)."""
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


def activate_lists(subscriber: Subscriber, mailing_lists: Sequence[MailingList], *, exclusive: bool = False) -> None:
    """Make ``mailing_lists`` active; with ``exclusive``, every other list inactive."""
    if exclusive:
        subscriber.subscriptions.exclude(mailing_list__in=mailing_lists).update(
            status=Subscription.Status.UNSUBSCRIBED, updated_at=timezone.now()
        )
    for mailing_list in mailing_lists:
        Subscription.objects.update_or_create(
            subscriber=subscriber, mailing_list=mailing_list, defaults={"status": Subscription.Status.ACTIVE}
        )


def active_list_ids(subscriber: Subscriber) -> set[int]:
    return set(
        subscriber.subscriptions.filter(status=Subscription.Status.ACTIVE).values_list("mailing_list_id", flat=True)
    )


def announce_confirmed(
    subscriber: Subscriber, mailing_lists: Sequence[MailingList], *, already: set[int], source: str
) -> None:
    """Tell the apps above which subscriptions just became confirmed (in the caller's transaction)."""
    new_ids = [mailing_list.pk for mailing_list in mailing_lists if mailing_list.pk not in already]
    if new_ids and source != Consent.Source.IMPORT:
        subscription_confirmed.send(sender=Subscriber, subscriber_id=subscriber.pk, list_ids=new_ids, source=source)


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


def _checked_wording(*, wording: str | None, version: str | None, language: str) -> tuple[str, str]:
    """(wording, version): the one given, else the current consent text in ``language``."""
    if wording is not None:
        return wording, version or ""
    version = version or consent_text.CURRENT_VERSION
    try:
        return consent_text.consent_wording(language=language, version=version), version
    except consent_text.UnknownWordingVersion:
        raise InvalidSignup("wording_version", f"unknown wording version {version!r}") from None


def _confirm_at_once(
    *, email: str, name: str, language: str, mailing_lists: list[MailingList], evidence: dict[str, Any], now: datetime
) -> SignupResult:
    """No double opt-in (API, import with recorded consent): confirmed now, unless they left."""
    existing = Subscriber.objects.select_for_update().filter(email=email).first()
    if is_suppressed(email) or (existing is not None and existing.status in LEFT):
        # The SPEC: suppressed addresses stay suppressed across lists and
        # re-imports. Nothing is written; the caller reports it.
        return SignupResult(subscriber=existing, consent=None, created=False, outcome="suppressed")
    subscriber, created = _lock_or_create(email=email, name=name, language=language)
    fields = ["status"]
    newly_confirmed = subscriber.status != Subscriber.Status.CONFIRMED
    already = set() if newly_confirmed else active_list_ids(subscriber)
    if newly_confirmed:
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
    activate_lists(subscriber, mailing_lists)
    announce_confirmed(subscriber, mailing_lists, already=already, source=evidence["source"])
    action = _ACTION_FOR_SOURCE.get(evidence["source"], Consent.Action.CONFIRM)
    consent = Consent.objects.create(subscriber=subscriber, action=action, confirmed_at=now, **evidence)
    if newly_confirmed:
        person_confirmed.send(sender=Subscriber, subscriber=subscriber)
    return SignupResult(subscriber=subscriber, consent=consent, created=created, outcome="confirmed")


def _ask_for_confirmation(
    *, email: str, name: str, language: str, evidence: dict[str, Any], now: datetime
) -> SignupResult:
    """Double opt-in. Nothing about a person already here changes until they follow the link.

    Anyone can type anyone's address. What this request asks for (lists,
    name, language, the wording shown) waits in its Consent row, which the
    link names; ``confirmation.confirm`` applies it.
    """
    subscriber, created = _lock_or_create(email=email, name=name, language=language)
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
    wording, wording_version = _checked_wording(wording=wording, version=wording_version, language=wording_language)
    now = timezone.now()
    evidence = {
        "email": email,
        "basis": basis,
        "implied_since": implied_since,
        "lists": [mailing_list.slug for mailing_list in mailing_lists],
        "wording": wording,
        "wording_version": wording_version,
        "language": wording_language,
        "source": source,
        "detail": clip(detail, 255),
        "page_url": clip(page_url, 500),
        "ip_address": ip,
        "user_agent": clip(user_agent, 500),
        "requested_at": requested_at or now,
        "actor": actor,
    }
    with transaction.atomic():
        if double_opt_in:
            return _ask_for_confirmation(email=email, name=name, language=language, evidence=evidence, now=now)
        return _confirm_at_once(
            email=email, name=name, language=language, mailing_lists=mailing_lists, evidence=evidence, now=now
        )
