"""Emails to staff (a campaign needs them, a webhook endpoint was switched off) go through one mechanism.

Whoever holds the permission the notice is about is told (superusers too,
through a role or their own permissions), once per address, in the
organisation's language; people without it, inactive accounts and accounts
without an address are not.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.core import mail

from campaigns.staff import notify
from campaigns.staff.roles import ADMIN, SENDER, WRITER
from integrations import health
from integrations.models import Endpoint
from tests.support.factories import make_campaign, make_list
from tests.support.personas import staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():  # type: ignore[no-untyped-def]
    sam = staff("sam", SENDER)
    User.objects.filter(pk=staff("sam-laptop", SENDER).pk).update(email=sam.email)  # two accounts, one inbox
    staff("wes", WRITER)
    staff("ada", ADMIN)
    User.objects.create_superuser("root", "root@staff.example.org", "x")
    gone = staff("gus", SENDER)
    gone.is_active = False
    gone.save()
    own = staff("oli", None)
    own.user_permissions.add(Permission.objects.get(codename="change_endpoint"))
    return sam


def test_a_campaign_notice_reaches_each_sender_once(team, settings):
    settings.LANGUAGE_CODE = "es"
    campaign = make_campaign([make_list()], subject="Water defenders detained")

    assert notify.send_notice(campaign_id=campaign.pk, about=notify.BREAKER, detail="Too many complaints.") == 3

    assert sorted(address for email in mail.outbox for address in email.to) == [
        "ada@staff.example.org",
        "root@staff.example.org",
        "sam@staff.example.org",
    ]
    assert all("Water defenders detained" in email.subject for email in mail.outbox)
    assert all("Abrir la campaña" in email.body for email in mail.outbox), mail.outbox[0].body


def test_an_endpoint_switched_off_is_told_to_whoever_may_manage_endpoints(team):
    endpoint = Endpoint.objects.create(url="https://crm.example.org/hooks", events=["campaign.sent"], secret="x")
    health.disable(endpoint, reason="down for a day")

    assert health.tell_staff_endpoint_disabled(endpoint_id=endpoint.pk) == 3

    assert sorted(address for email in mail.outbox for address in email.to) == [
        "ada@staff.example.org",
        "oli@staff.example.org",
        "root@staff.example.org",
    ]
    assert all("crm.example.org" in email.subject for email in mail.outbox)
