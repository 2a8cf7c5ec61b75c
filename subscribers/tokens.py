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

import binascii
import hashlib
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

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


class FastSigner:
    """What ``django.core.signing.Signer(salt=salt)`` signs, with the HMAC key derived once.

    Django derives the key (a SHA-256 of salt and SECRET_KEY) and builds a
    Signer on every call; per link and per recipient of a campaign that cost
    more than the rest of rendering. Tokens are byte-identical to Django's
    (tests check it), so reading them stays with ``signing.Signer``, which
    also knows SECRET_KEY_FALLBACKS.
    """

    def __init__(self, salt: str, secret_key: str) -> None:
        key = hashlib.sha256(f"{salt}signer{secret_key}".encode()).digest().ljust(64, b"\0")
        # HMAC-SHA256 by its definition (RFC 2104), with both pads hashed once:
        # copying a hash state is cheaper than hmac.new() each time.
        self._inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in key))
        self._outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in key))

    def sign(self, value: str) -> str:
        inner = self._inner.copy()
        inner.update(value.encode())
        outer = self._outer.copy()
        outer.update(inner.digest())
        return f"{value}:{_b64(outer.digest())}"

    def sign_json(self, serialized: str) -> str:
        """``Signer.sign_object`` for an object whose compact JSON is ``serialized``."""
        return self.sign(_b64(serialized.encode("latin-1")))


_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _b64(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).translate(_URLSAFE).rstrip(b"=").decode()


@lru_cache(maxsize=32)
def _fast_signer(salt: str, secret_key: str) -> FastSigner:
    return FastSigner(salt, secret_key)


def fast_signer(salt: str) -> FastSigner:
    """The signer for ``salt`` under the current SECRET_KEY (cached per key)."""
    return _fast_signer(salt, settings.SECRET_KEY)


def unsubscribe_signer() -> FastSigner:
    return fast_signer(_UNSUBSCRIBE)


def preferences_signer() -> FastSigner:
    return fast_signer(_PREFERENCES)


def make_unsubscribe_token(subscriber: Subscriber) -> str:
    return unsubscribe_signer().sign(str(subscriber.pk))


def make_preferences_token(subscriber: Subscriber) -> str:
    return preferences_signer().sign(str(subscriber.pk))


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
    token = make_unsubscribe_token(subscriber)
    url = absolute(reverse("subscribers:unsubscribe", args=[token]))
    return list_unsubscribe_header_values(unsubscribe_url=url, token=token)


def list_unsubscribe_header_values(*, unsubscribe_url: str, token: str) -> dict[str, str]:
    """The headers from an already signed token and URL (the campaign renderer's fast path)."""
    links = f"<{unsubscribe_url}>"
    mailto = settings.TOCSIN_UNSUBSCRIBE_MAILTO
    if mailto:
        links += f", <mailto:{mailto}?subject=unsubscribe%20{token}>"
    return {"List-Unsubscribe": links, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
