"""Two-factor authentication for staff who can send, approve or export."""

from __future__ import annotations

import pytest
from django.test import Client
from django.contrib.auth.models import User
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from campaigns.permissions import ADMIN, SENDER, WRITER
from campaigns.staff import issue_backup_code
from tests.campaigns.staff_helpers import staff, verified

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


def test_the_enrol_page_shows_a_qr_code_and_confirming_a_code_opens_the_admin(client):
    user = staff("sam", SENDER)
    client.force_login(user)
    page = client.get("/admin/2fa/setup/?next=/admin/campaigns/campaign/")
    assert page.status_code == 200
    assert "<svg" in page.content.decode()
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    response = client.post("/admin/2fa/setup/", {"token": current_code(device), "next": "/admin/campaigns/campaign/"})
    assert response.status_code == 302
    assert response["Location"] == "/admin/campaigns/campaign/"
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/admin/campaigns/campaign/").status_code == 200


def test_a_wrong_code_does_not_enrol(client):
    user = staff("sam", SENDER)
    client.force_login(user)
    client.get("/admin/2fa/setup/")
    response = client.post("/admin/2fa/setup/", {"token": "000000"})
    assert response.status_code == 200
    assert not TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def test_a_user_with_a_device_must_verify_and_cannot_enrol_another(client):
    user = staff("sam", SENDER)
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
    user = staff("sam", SENDER)
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client.force_login(user)
    wrong = f"{(int(current_code(device)) + 1) % 1000000:06d}"
    response = client.post("/admin/2fa/verify/", {"token": wrong})
    assert response.status_code == 200
    assert "not valid" in response.content.decode()
    assert client.get("/admin/").status_code == 302


def test_a_backup_code_works_once(client):
    user = staff("sam", SENDER)
    code = issue_backup_code(user)
    client.force_login(user)
    assert client.post("/admin/2fa/verify/", {"token": code})["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    client.logout()
    client.force_login(user)
    assert client.post("/admin/2fa/verify/", {"token": code}).status_code == 200


def test_the_verify_page_refuses_to_redirect_off_site(client):
    user = staff("sam", SENDER)
    code = issue_backup_code(user)
    client.force_login(user)
    response = client.post("/admin/2fa/verify/", {"token": code, "next": "https://evil.example/"})
    assert response["Location"] == "/admin/"


def test_a_writer_needs_no_second_factor(client):
    client.force_login(staff("wendy", WRITER))
    assert client.get("/admin/").status_code == 200


def test_a_verified_sender_uses_the_admin(client):
    verified(client, staff("sam", SENDER))
    assert client.get("/admin/campaigns/campaign/").status_code == 200


def test_the_admin_api_of_a_send_step_is_also_behind_the_second_factor(client):
    client.force_login(staff("sam", SENDER))
    response = client.post("/admin/campaigns/campaign/1/step/pause/")
    assert response.status_code == 302
    assert "/admin/2fa/" in response["Location"]


def test_repeated_wrong_passwords_lock_the_account_out(client, settings):
    staff("sam", SENDER)
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        client.post("/admin/login/", {"username": "sam", "password": "wrong", "next": "/admin/"})
    response = client.post("/admin/login/", {"username": "sam", "password": "a long test password"})
    assert response.status_code == 429  # django-axes' lockout answer


def test_behind_a_proxy_an_attacker_s_wrong_passwords_do_not_lock_out_the_staff_member(client, settings):
    staff("sam", SENDER)
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
