"""django-otp's device pages (authenticator apps, backup codes) in the staff member's language.

django-otp labels its models, fields and sections in plain English strings
that no catalogue can translate; campaigns/admin/two_step_devices.py names them.
"""

from __future__ import annotations

import pytest
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.support.personas import admin, verified

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("compiled_catalogs")]

FRENCH = {"accept-language": "fr"}
DJANGO_OTP_ENGLISH = [
    "The user that this device belongs to",
    "The human-readable name of this device",
    "Is this device ready for use",
    "Timestamps",
    "Identity",
    "Throttling",
    "QR Code",
    "Search by user",
    "TOTP device",
    "static device",
    "Created at",
    "Last used at",
    "The time step in seconds",
    "None</div>",
]


def content(page: str) -> str:
    return page.split('<div id="content"', 1)[1]


def test_the_authenticator_apps_pages_are_in_french(client):
    ada = admin()
    verified(client, ada)
    device = TOTPDevice.objects.get(user=ada)

    listing = content(client.get("/admin/otp_totp/totpdevice/", headers=FRENCH).content.decode())
    change = content(client.get(f"/admin/otp_totp/totpdevice/{device.pk}/change/", headers=FRENCH).content.decode())

    assert "Applications d’authentification" in listing
    assert "Modifier l’application d’authentification" in change
    assert "Compte de l’équipe" in change and "Dernière utilisation" in change
    for english in DJANGO_OTP_ENGLISH:
        assert english not in listing, english
        assert english not in change, english


def test_the_backup_code_pages_are_in_french(client):
    ada = admin()
    verified(client, ada)
    device = StaticDevice.objects.create(user=ada, name="Backup codes", confirmed=True)

    listing = content(client.get("/admin/otp_static/staticdevice/", headers=FRENCH).content.decode())
    change = content(client.get(f"/admin/otp_static/staticdevice/{device.pk}/change/", headers=FRENCH).content.decode())

    assert "Codes de secours" in listing
    for english in DJANGO_OTP_ENGLISH:
        assert english not in listing, english
        assert english not in change, english


def test_devices_are_not_added_by_hand_in_the_admin(client):
    # An app is set up by its owner (/admin/2fa/setup/), a backup code issued from Staff accounts.
    verified(client, admin())

    assert client.get("/admin/otp_totp/totpdevice/add/").status_code == 403
    assert client.get("/admin/otp_static/staticdevice/add/").status_code == 403
