"""Named people for the tests: staff in each role, and a supporter.

- ``writer()`` — Wendy, role writer: drafts, previews, test sends; cannot send.
- ``sender()`` — Sam, role sender: also approves, schedules, sends, pauses.
- ``approver()`` — April, role sender: the second person who approves
  Wendy's or Sam's campaign when TOCSIN_REQUIRE_APPROVAL is on.
- ``admin()`` — Ada, role admin: everything, staff and exports included.
- ``supporter()`` — Ana, a confirmed subscriber with her consent on record.

Each is made once per test and found again on a second call. ``staff()``
makes anyone else; ``verified()`` logs a user in past the second factor;
``token_for()``, ``bearer()`` and ``api_post()`` speak to the JSON API as them.
Fixtures ``writer_token``, ``sender_token`` and ``admin_token`` are in
tests/conftest.py.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.models import Group, User
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from campaigns.api.auth import create_token
from campaigns.staff.roles import ADMIN, SENDER, WRITER, ensure_roles
from subscribers.models import Subscriber
from tests.support.factories import make_subscriber

PASSWORD = "a long test password"


def staff(username: str, role: str | None) -> User:
    """A new staff user with ``role`` (writer, sender, admin, or none)."""
    ensure_roles()
    user = User.objects.create_user(
        username=username, email=f"{username}@staff.example.org", password=PASSWORD, is_staff=True
    )
    if role:
        user.groups.add(Group.objects.get(name=role))
    return User.objects.get(pk=user.pk)  # fresh permission cache


def _persona(username: str, role: str) -> User:
    existing = User.objects.filter(username=username).first()
    return existing if existing is not None else staff(username, role)


def writer() -> User:
    return _persona("wendy", WRITER)


def sender() -> User:
    return _persona("sam", SENDER)


def approver() -> User:
    return _persona("april", SENDER)


def admin() -> User:
    return _persona("ada", ADMIN)


def supporter(**fields: Any) -> Subscriber:
    """Ana, a confirmed supporter with the sign-up consent a real one would have (see factories)."""
    fields.setdefault("email", "ana@example.org")
    existing = Subscriber.objects.filter(email=fields["email"]).first()
    return existing if existing is not None else make_subscriber(**fields)


def verified(client: Client, user: User) -> Client:
    """Log ``user`` in with a second factor already passed (a confirmed TOTP device)."""
    client.force_login(user)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
        user=user, name="phone", confirmed=True
    )
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def token_for(user: User) -> str:
    return create_token(user=user, name="test")[1]


def bearer(token: str) -> dict[str, Any]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def api_patch(client: Client, url: str, body: Any, token: str) -> Any:
    """PATCH ``body`` (a dict, or raw text) as JSON with ``token``."""
    payload = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.patch(url, payload, content_type="application/json", **bearer(token))


def api_post(client: Client, url: str, body: Any, token: str) -> Any:
    """POST ``body`` (a dict, or raw text as a client might send) as JSON with ``token``."""
    payload = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(url, payload, content_type="application/json", **bearer(token))
