"""Roles: writer, sender, admin — what each can do."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import RequestFactory

from campaigns.api.auth import BearerToken
from campaigns.staff.roles import ADMIN, SENDER, WRITER, can_export, can_send, ensure_roles, needs_two_factor
from tests.support import personas

pytestmark = pytest.mark.django_db


def test_the_three_roles_exist_after_migrate():
    assert set(Group.objects.filter(name__in=[WRITER, SENDER, ADMIN]).values_list("name", flat=True)) == {
        WRITER,
        SENDER,
        ADMIN,
    }


def test_ensure_roles_is_idempotent_and_repairs_a_tampered_group():
    ensure_roles()
    writer = Group.objects.get(name=WRITER)
    writer.permissions.clear()
    ensure_roles()
    assert writer.permissions.filter(codename="add_campaign").exists()
    assert Group.objects.filter(name=WRITER).count() == 1


def test_a_writer_drafts_but_cannot_send_approve_or_export():
    writer = personas.writer()
    assert writer.has_perm("campaigns.add_campaign")
    assert writer.has_perm("campaigns.change_article")
    assert not can_send(writer)
    assert not writer.has_perm("campaigns.approve_campaign")
    assert not can_export(writer)
    assert not needs_two_factor(writer)


def test_a_sender_sends_and_approves_but_cannot_export():
    sender = personas.sender()
    assert can_send(sender)
    assert sender.has_perm("campaigns.approve_campaign")
    assert not can_export(sender)
    assert needs_two_factor(sender)


def test_an_admin_can_do_everything_including_export():
    admin_user = personas.admin()
    assert can_send(admin_user)
    assert can_export(admin_user)
    assert admin_user.has_perm("subscribers.add_subscriber")
    assert needs_two_factor(admin_user)


def test_the_writer_sees_campaigns_in_the_admin_without_a_second_factor(client):
    client.force_login(personas.writer())
    assert client.get("/admin/campaigns/campaign/").status_code == 200


def test_create_api_token_prints_the_token_last(capsys):
    user = personas.sender()
    call_command("create_api_token", "--user", "sam")
    output = capsys.readouterr().out.strip().splitlines()
    token = output[-1]
    request = RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert BearerToken()(request) == user


def test_create_api_token_for_an_unknown_user_fails_clearly():
    with pytest.raises(CommandError, match="No user"):
        call_command("create_api_token", "--user", "nobody")
