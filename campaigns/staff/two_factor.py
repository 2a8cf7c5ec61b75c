"""Two-factor authentication for staff who hold the keys to the list.

Anyone who can send, approve or export (and every superuser) must have
verified a one-time code (django-otp: a 6-digit code from a TOTP app, or an
8-digit single-use backup code) in this session before any admin page opens.
A password alone — phished, reused, guessed — must not be enough to mail or
download thousands of people, some of whom are at risk in the countries the
bulletins cover. Password failures lock out through django-axes; code
failures slow down through django-otp's own throttling.

Nor is a password alone enough to *enrol* a first authenticator app: whoever
typed the password first would own the account's second factor. Enrolling
starts from a backup code the person did not choose: one a colleague who
manages staff accounts issues (the admin's user list, logged in the audit
log), one the operator prints (``manage.py issue_backup_code``), or the
demo login's, which `make run` prints.
"""

from __future__ import annotations

import secrets
from base64 import b32encode
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import qrcode
import qrcode.image.svg
from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django_otp import login as otp_login
from django_otp import match_token, user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from campaigns.staff import audit
from campaigns.staff.roles import needs_two_factor

SETUP_DEVICE_NAME = "Authenticator app"
BACKUP_DEVICE_NAME = "Backup codes"


def is_verified(user: Any) -> bool:
    is_verified = getattr(user, "is_verified", None)
    return bool(is_verified and is_verified())


def _exempt_paths() -> tuple[str, ...]:
    return (
        reverse("staff_2fa:verify"),
        reverse("staff_2fa:setup"),
        reverse("admin:login"),
        reverse("admin:logout"),
    )


class RequireTwoFactorMiddleware:
    """Sends staff who need a second factor to verify (or enrol) before the admin."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        admin_root = reverse("admin:index")
        if (
            request.path.startswith(admin_root)
            and user is not None
            and user.is_authenticated
            and user.is_staff
            and not request.path.startswith(_exempt_paths())
            and needs_two_factor(user)
            and not is_verified(user)
        ):
            target = "staff_2fa:verify" if user_has_device(user, confirmed=True) else "staff_2fa:setup"
            return HttpResponseRedirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("admin:index")


def _context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    return {
        **admin.site.each_context(request),
        "next": _next_url(request),
        "required": needs_two_factor(request.user),
        # The app list is no use before the second step: every link would come back here.
        "is_nav_sidebar_enabled": False,
        **extra,
    }


def _has_app(user: Any) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


@login_required(login_url="admin:login")
def verify(request: HttpRequest) -> HttpResponse:
    """Ask for a 6-digit code from the authenticator app, or an 8-digit backup code."""
    if not user_has_device(request.user, confirmed=True):
        return HttpResponseRedirect(f"{reverse('staff_2fa:setup')}?{urlencode({'next': _next_url(request)})}")
    error = ""
    if request.method == "POST":
        token = "".join(request.POST.get("token", "").split())[:16]
        device = match_token(request.user, token) if token else None
        if device is not None:
            otp_login(request, device)
            if isinstance(device, StaticDevice):
                # Backup codes are single use, and the usual reason to type one is
                # a first login or a lost phone: on to setting up an app (or "Not now").
                return HttpResponseRedirect(f"{reverse('staff_2fa:setup')}?{urlencode({'next': _next_url(request)})}")
            return HttpResponseRedirect(_next_url(request))
        error = _("That code is not valid (or it was already used). Wait for a new one and try again.")
    return render(
        request,
        "admin/campaigns/two_factor_verify.html",
        _context(request, title=_("Two-step verification"), error=error),
    )


def _qr_svg(url: str) -> str:
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    return image.to_string(encoding="unicode")


@login_required(login_url="admin:login")
def setup(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator app: scan the QR code, type one code to confirm."""
    user = request.user
    if not is_verified(user):
        if user_has_device(user, confirmed=True):
            # Adding a device must not be a way around the one already enrolled;
            # a backup code (an enrolment code) is typed there too.
            return HttpResponseRedirect(f"{reverse('staff_2fa:verify')}?{urlencode({'next': _next_url(request)})}")
        # No device and no code: the password alone must not enrol one.
        return render(
            request,
            "admin/campaigns/two_factor_code_needed.html",
            _context(request, title=_("Two-step verification"), username=user.get_username()),
            status=403,
        )
    device = TOTPDevice.objects.filter(user=user, confirmed=False, name=SETUP_DEVICE_NAME).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, confirmed=False, name=SETUP_DEVICE_NAME)
    error = ""
    if request.method == "POST":
        token = "".join(request.POST.get("token", "").split())[:16]
        if token and device.verify_token(token):
            with transaction.atomic():
                # One app per person: setting up a new phone retires the old one
                # (it may be the lost or stolen one).
                TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
                device.confirmed = True
                device.save(update_fields=["confirmed"])
            otp_login(request, device)
            return HttpResponseRedirect(_next_url(request))
        error = _("That code does not match. Check the time on your phone and type the newest code.")
    secret = device.bin_key
    return render(
        request,
        "admin/campaigns/two_factor_setup.html",
        _context(
            request,
            title=_("Set up two-step verification"),
            error=error,
            qr_svg=mark_safe(_qr_svg(device.config_url)),  # generated by qrcode from our own URL
            secret=" ".join(b32encode(secret).decode()[i : i + 4] for i in range(0, 32, 4)),
            replaces_app=TOTPDevice.objects.filter(user=user, confirmed=True).exists(),
            without_app=not _has_app(user),
        ),
    )


def issue_backup_code(user: Any) -> str:
    """A fresh single-use backup code for ``user`` (``seed_demo`` prints one for the demo login).

    Replaces any earlier unused codes of the same device, so only the most
    recently printed code works.
    """
    device, _created = StaticDevice.objects.get_or_create(
        user=user, name=BACKUP_DEVICE_NAME, defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    code = f"{secrets.randbelow(10**8):08d}"
    StaticToken.objects.create(device=device, token=code)
    return code


def give_backup_code(*, user: Any, issued_by: Any | None) -> str:
    """A single-use backup code for ``user`` to set up (or replace) an authenticator app with.

    Given by a colleague who manages staff accounts (``issued_by``), or by the
    operator on the command line (``issued_by=None``); logged either way,
    since the code stands in for the person's second factor once.
    """
    with transaction.atomic():
        code = issue_backup_code(user)
        by = "" if issued_by is not None else " with manage.py issue_backup_code"
        audit.record(actor=issued_by, action=audit.TWO_STEP_CODE_ISSUED, detail=f"for {user.get_username()}{by}")
    return code
