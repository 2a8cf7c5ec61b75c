"""Two-factor authentication for staff who can send, approve or export."""

from __future__ import annotations

import io
import re
from urllib.parse import quote

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import CommandError, call_command
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from campaigns.models import AuditLog
from campaigns.staff.roles import ADMIN, SENDER
from campaigns.staff.two_factor import issue_backup_code
from tests.support.personas import sender, staff, verified, writer

pytestmark = pytest.mark.django_db


def current_code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


@pytest.mark.parametrize("role", [SENDER, ADMIN])
def test_a_sender_or_admin_without_a_device_is_sent_to_enrol(client, role):
    client.force_login(staff("sam", role))
    response = client.get("/admin/campaigns/campaign/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/2fa/setup/")


def test_a_superuser_needs_a_second_factor_too(client):
    root = User.objects.create_superuser("root", "root@example.org", "a long test password")
    client.force_login(root)
    assert client.get("/admin/").status_code == 302


def enrol_with_backup_code(client, user: User, *, next_url: str = "/admin/campaigns/campaign/") -> TOTPDevice:
    """Log in with a backup code, then set up an authenticator app: the way in for someone with no app."""
    code = issue_backup_code(user)
    client.force_login(user)
    response = client.post("/admin/2fa/verify/", {"token": code, "next": next_url})
    # Single use: straight on to setting up the app, the destination kept.
    assert response["Location"] == f"/admin/2fa/setup/?next={quote(next_url, safe='')}"
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "<svg" in page.content.decode()
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    response = client.post("/admin/2fa/setup/", {"token": current_code(device), "next": next_url})
    assert response.status_code == 302
    assert response["Location"] == next_url
    device.refresh_from_db()
    assert device.confirmed
    return device


def test_a_password_alone_cannot_set_up_an_authenticator_app(client):
    user = sender()
    client.force_login(user)  # someone who has the password, and nothing else

    page = client.get("/admin/2fa/setup/?next=/admin/")

    assert page.status_code == 403
    text = page.content.decode()
    assert 'class="qr"' not in text and "Enter this key by hand" not in text  # no QR code, no secret
    assert "python manage.py issue_backup_code --user sam" in text
    assert not TOTPDevice.objects.filter(user=user).exists()
    response = client.post("/admin/2fa/setup/", {"token": "123456"})
    assert response.status_code == 403
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert client.get("/admin/").status_code == 302


def test_with_a_backup_code_a_new_sender_sets_up_an_app_and_opens_the_admin(client):
    user = sender()
    enrol_with_backup_code(client, user)
    assert client.get("/admin/campaigns/campaign/").status_code == 200


def test_a_wrong_code_does_not_enrol(client):
    user = sender()
    client.force_login(user)
    client.post("/admin/2fa/verify/", {"token": issue_backup_code(user)})
    client.get("/admin/2fa/setup/")
    response = client.post("/admin/2fa/setup/", {"token": "000000"})
    assert response.status_code == 200
    assert not TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def test_a_new_phone_replaces_the_lost_one(client):
    user = sender()
    lost = TOTPDevice.objects.create(user=user, name="lost phone", confirmed=True)
    enrol_with_backup_code(client, user)
    assert not TOTPDevice.objects.filter(pk=lost.pk).exists()
    assert TOTPDevice.objects.filter(user=user, confirmed=True).count() == 1


def test_a_colleague_who_manages_staff_issues_a_backup_code_and_it_is_audited(client):
    sam = sender()
    admin_client = verified(Client(), staff("alba", ADMIN))

    response = admin_client.post("/admin/auth/user/", {"action": "issue_backup_codes", "_selected_action": [sam.pk]})

    assert response.status_code == 200
    page = response.content.decode()
    [code] = re.findall(r'class="code">(\d{8})<', page)
    entry = AuditLog.objects.get(action="two-step-code-issued")
    assert entry.actor.username == "alba" and entry.detail == "for sam"
    assert code not in entry.detail
    # Sam, with the password and this code, gets in and sets up an app.
    client.force_login(sam)
    assert client.post("/admin/2fa/verify/", {"token": code})["Location"].startswith("/admin/2fa/setup/")


def test_staff_who_cannot_change_accounts_cannot_issue_codes(client):
    sam = sender()
    verified(client, staff("sara", SENDER))
    response = client.post("/admin/auth/user/", {"action": "issue_backup_codes", "_selected_action": [sam.pk]})
    assert response.status_code == 403
    assert not AuditLog.objects.filter(action="two-step-code-issued").exists()


def test_whoever_can_change_staff_accounts_needs_a_second_factor_too(client):
    keeper = staff("kim", None)
    keeper.user_permissions.add(Permission.objects.get(codename="change_user", content_type__app_label="auth"))
    client.force_login(User.objects.get(pk=keeper.pk))
    assert client.get("/admin/auth/user/")["Location"].startswith("/admin/2fa/")


def test_the_operator_issues_a_backup_code_with_manage_py(client):
    sam = sender()
    out = io.StringIO()
    call_command("issue_backup_code", "--user", "sam", stdout=out, stderr=io.StringIO())
    code = out.getvalue().strip().splitlines()[-1]
    assert re.fullmatch(r"\d{8}", code)
    entry = AuditLog.objects.get(action="two-step-code-issued")
    assert entry.actor is None and "manage.py" in entry.detail
    client.force_login(sam)
    assert client.post("/admin/2fa/verify/", {"token": code}).status_code == 302
    with pytest.raises(CommandError):
        call_command("issue_backup_code", "--user", "nobody", stdout=io.StringIO())


def test_the_two_step_page_names_the_app_code_and_the_backup_code(client):
    user = sender()
    TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client.force_login(user)
    page = client.get("/admin/2fa/verify/").content.decode()
    assert "6-digit code your authenticator app shows" in page
    assert "8-digit backup code" in page


def test_a_user_with_a_device_must_verify_and_cannot_enrol_another(client):
    user = sender()
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client.force_login(user)
    response = client.get("/admin/")
    assert response["Location"].startswith("/admin/2fa/verify/")
    # Enrolling a second device would be a way around the first one.
    assert client.get("/admin/2fa/setup/")["Location"].startswith("/admin/2fa/verify/")
    response = client.post("/admin/2fa/verify/", {"token": current_code(device), "next": "/admin/"})
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_a_wrong_code_keeps_the_admin_closed(client):
    user = sender()
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client.force_login(user)
    wrong = f"{(int(current_code(device)) + 1) % 1000000:06d}"
    response = client.post("/admin/2fa/verify/", {"token": wrong})
    assert response.status_code == 200
    assert "not valid" in response.content.decode()
    assert client.get("/admin/").status_code == 302


def test_a_backup_code_works_once(client):
    user = sender()
    code = issue_backup_code(user)
    client.force_login(user)
    assert client.post("/admin/2fa/verify/", {"token": code})["Location"] == "/admin/2fa/setup/?next=%2Fadmin%2F"
    assert client.get("/admin/").status_code == 200  # "Not now": in, without an app
    client.logout()
    client.force_login(user)
    assert client.post("/admin/2fa/verify/", {"token": code}).status_code == 200


def test_the_verify_page_refuses_to_redirect_off_site(client):
    user = sender()
    code = issue_backup_code(user)
    client.force_login(user)
    response = client.post("/admin/2fa/verify/", {"token": code, "next": "https://evil.example/"})
    assert response["Location"] == "/admin/2fa/setup/?next=%2Fadmin%2F"


def test_a_writer_needs_no_second_factor(client):
    client.force_login(writer())
    assert client.get("/admin/").status_code == 200


def test_a_verified_sender_uses_the_admin(client):
    verified(client, sender())
    assert client.get("/admin/campaigns/campaign/").status_code == 200


def test_the_admin_api_of_a_send_step_is_also_behind_the_second_factor(client):
    client.force_login(sender())
    response = client.post("/admin/campaigns/campaign/1/step/pause/")
    assert response.status_code == 302
    assert "/admin/2fa/" in response["Location"]


def test_repeated_wrong_passwords_lock_the_account_out(client, settings):
    sender()
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        client.post("/admin/login/", {"username": "sam", "password": "wrong", "next": "/admin/"})
    response = client.post("/admin/login/", {"username": "sam", "password": "a long test password"})
    assert response.status_code == 429  # django-axes' lockout answer


def test_behind_a_proxy_an_attacker_s_wrong_passwords_do_not_lock_out_the_staff_member(client, settings):
    sender()
    settings.AXES_FAILURE_LIMIT = 3
    settings.TOCSIN_TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.2"}  # every request comes through our proxy
    for _ in range(3):
        client.post(
            "/admin/login/",
            {"username": "sam", "password": "wrong", "next": "/admin/"},
            HTTP_X_FORWARDED_FOR="203.0.113.66",
            **proxy,
        )
    assert (
        client.post(
            "/admin/login/",
            {"username": "sam", "password": "a long test password"},
            HTTP_X_FORWARDED_FOR="203.0.113.66",
            **proxy,
        ).status_code
        == 429
    )  # the attacker's own address is locked out

    sam = Client()
    response = sam.post(
        "/admin/login/",
        {"username": "sam", "password": "a long test password", "next": "/admin/"},
        HTTP_X_FORWARDED_FOR="198.51.100.7",
        **proxy,
    )
    assert response.status_code == 302  # logged in (on to the second step)
    assert "_auth_user_id" in sam.session
