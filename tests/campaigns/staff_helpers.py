"""Named staff personas for the admin, API and 2FA tests."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, User
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from campaigns.api.auth import create_token
from campaigns.models import Campaign
from campaigns.staff.roles import ensure_roles
from subscribers.models import MailingList, Subscriber, Subscription


def staff(username: str, role: str | None) -> User:
    ensure_roles()
    user = User.objects.create_user(
        username=username, email=f"{username}@staff.example.org", password="a long test password", is_staff=True
    )
    if role:
        user.groups.add(Group.objects.get(name=role))
    return User.objects.get(pk=user.pk)  # fresh permission cache


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


def mailing_list(slug: str = "news", *, people: int = 0) -> MailingList:
    mailing = MailingList.objects.create(slug=slug, name=slug.title())
    for number in range(people):
        person = Subscriber.objects.create(
            email=f"{slug}{number}@example.net", status=Subscriber.Status.CONFIRMED, language="en"
        )
        Subscription.objects.create(subscriber=person, mailing_list=mailing)
    return mailing


def campaign(*, author: User | None = None, lists: list[MailingList] | None = None, **fields: Any) -> Campaign:
    values = {"subject": "Mining concession suspended", "body_markdown": "The court ruled **today**.", **fields}
    made = Campaign.objects.create(created_by=author, **values)
    if lists:
        made.lists.set(lists)
    return made
