"""Signed tokens for the links in emails: confirm, unsubscribe, preferences.

Django's signer verifies against SECRET_KEY and then SECRET_KEY_FALLBACKS, so
links in emails sent before a key rotation keep working. Each purpose has its
own salt: a preference-centre token can never be replayed as a confirmation.

Unsubscribe and preference tokens do not expire (CASL wants unsubscribe links
to work for at least 60 days; a link that dies is how people end up pressing
"report spam"). Confirmation tokens expire after
``TOCSIN_CONFIRMATION_MAX_AGE_DAYS`` and name the consent request they confirm,
so a second use is recognised.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse

from subscribers.models import Subscriber

_UNSUBSCRIBE = "tocsin.unsubscribe"
_PREFERENCES = "tocsin.preferences"
_CONFIRM = "tocsin.confirm"


class InvalidToken(Exception):
    """Tampered, truncated or signed with an unknown key."""


class ExpiredToken(InvalidToken):
    """Genuine, but older than it may be."""


def _signer(salt: str) -> signing.Signer:
    return signing.Signer(salt=salt)


def make_unsubscribe_token(subscriber: Subscriber) -> str:
    return _signer(_UNSUBSCRIBE).sign(str(subscriber.pk))


def make_preferences_token(subscriber: Subscriber) -> str:
    return _signer(_PREFERENCES).sign(str(subscriber.pk))


def _read_id(token: str, salt: str) -> int:
    try:
        value = _signer(salt).unsign(token)
        return int(value)
    except (signing.BadSignature, ValueError):
        raise InvalidToken("this link is not valid") from None


def read_unsubscribe_token(token: str) -> int:
    """The subscriber id an unsubscribe token was made for."""
    return _read_id(token, _UNSUBSCRIBE)


def read_preferences_token(token: str) -> int:
    return _read_id(token, _PREFERENCES)


@dataclass(frozen=True)
class ConfirmationClaim:
    subscriber_id: int
    consent_id: int


def make_confirmation_token(*, subscriber_id: int, consent_id: int) -> str:
    return signing.TimestampSigner(salt=_CONFIRM).sign_object({"s": subscriber_id, "c": consent_id})


def read_confirmation_token(token: str) -> ConfirmationClaim:
    max_age = timedelta(days=settings.TOCSIN_CONFIRMATION_MAX_AGE_DAYS)
    try:
        data = signing.TimestampSigner(salt=_CONFIRM).unsign_object(token, max_age=max_age)
    except signing.SignatureExpired:
        raise ExpiredToken("this confirmation link has expired") from None
    except (signing.BadSignature, ValueError, TypeError):
        raise InvalidToken("this confirmation link is not valid") from None
    try:
        return ConfirmationClaim(subscriber_id=int(data["s"]), consent_id=int(data["c"]))
    except (KeyError, TypeError, ValueError):
        raise InvalidToken("this confirmation link is not valid") from None


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def unsubscribe_url(subscriber: Subscriber) -> str:
    return absolute(reverse("subscribers:unsubscribe", args=[make_unsubscribe_token(subscriber)]))


def preferences_url(subscriber: Subscriber) -> str:
    return absolute(reverse("subscribers:preferences", args=[make_preferences_token(subscriber)]))


def confirmation_url(*, subscriber_id: int, consent_id: int) -> str:
    token = make_confirmation_token(subscriber_id=subscriber_id, consent_id=consent_id)
    return absolute(reverse("subscribers:confirm", args=[token]))


def list_unsubscribe_headers(subscriber: Subscriber) -> dict[str, str]:
    """RFC 2369 + RFC 8058 headers for every bulk email.

    Gmail and Yahoo require one-click unsubscribe for bulk senders: the https
    URL takes a POST of ``List-Unsubscribe=One-Click`` with no cookies.
    """
    links = [f"<{unsubscribe_url(subscriber)}>"]
    mailto = settings.TOCSIN_UNSUBSCRIBE_MAILTO
    if mailto:
        token = make_unsubscribe_token(subscriber)
        links.append(f"<mailto:{mailto}?subject=unsubscribe%20{token}>")
    return {
        "List-Unsubscribe": ", ".join(links),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
