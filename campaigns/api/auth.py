"""Bearer tokens: ``Authorization: Bearer TOKEN``.

A token is 32 random bytes, shown once; the database keeps its SHA-256 only,
so a stolen backup holds no working credential. A plain hash (not a slow
password hash) is enough because the token itself has 256 bits of entropy.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja.errors import AuthorizationError
from ninja.security import HttpBearer

from campaigns.models import ApiToken

PREFIX = "tocsin_"
# Writing last_used_at on every call would turn each read into a write;
# minute precision is all an operator needs to spot an unused token.
_TOUCH_INTERVAL = timedelta(minutes=1)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def create_token(*, user: Any, name: str = "") -> tuple[ApiToken, str]:
    """A new token for ``user``: the model row and the secret, which is never stored."""
    secret = new_secret()
    token = ApiToken.objects.create(user=user, name=name[:100], key_hash=hash_token(secret))
    return token, secret


def user_for_token(secret: str) -> Any | None:
    """The active user behind a bearer token, or None."""
    secret = secret.strip()
    if not secret or len(secret) > 200:
        return None
    token = ApiToken.objects.select_related("user").filter(key_hash=hash_token(secret)).first()
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > _TOUCH_INTERVAL:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


class BearerToken(HttpBearer):
    """Ninja's bearer scheme over our tokens; with ``permission``, a token whose user lacks it is a 403.

    The permission is checked here, before the body is read, so a token that
    may not do something learns that first, whatever it sent.
    """

    def __init__(self, permission: str | None = None) -> None:
        super().__init__()
        self.permission = permission

    def authenticate(self, request: HttpRequest, token: str) -> Any | None:
        user = user_for_token(token)
        if user is not None and self.permission and not user.has_perm(self.permission):
            raise AuthorizationError(message=_("This token's user is not allowed to do that."))
        return user


def token_user(request: HttpRequest) -> Any:
    """The user whose token ``BearerToken`` accepted (ninja puts it on the request)."""
    return request.auth  # type: ignore[attr-defined]
