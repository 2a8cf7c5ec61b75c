"""Telling staff that a campaign needs them: an email to everyone who may send or pause campaigns.

Written to the outbox in the caller's transaction (``outbox.relay.enqueue``),
so the notice goes out once the change it reports is committed, even if the
broker was down at that moment. The same reason is on the campaign's page
(``status_reason``) and in its history.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from campaigns.models import Campaign
from campaigns.staff.roles import SEND_PERMISSION
from outbox.relay import enqueue
from subscribers.emails import make_message

BREAKER = "breaker"


def tell_staff(*, campaign: Campaign, about: str, detail: str) -> None:
    """After commit, email every active staff member who can send campaigns about ``campaign``."""
    enqueue("campaigns.tasks.tell_staff", args=[campaign.pk, about, detail])


def staff_to_tell() -> list[Any]:
    """Active staff with an address who can send (pause, resume, cancel) campaigns."""
    app_label, codename = SEND_PERMISSION.split(".")
    granted = Q(user_permissions__codename=codename, user_permissions__content_type__app_label=app_label) | Q(
        groups__permissions__codename=codename, groups__permissions__content_type__app_label=app_label
    )
    users = get_user_model().objects.filter(is_active=True, is_staff=True).exclude(email="")
    return list(users.filter(Q(is_superuser=True) | granted).distinct().order_by("pk"))


def send_notice(*, campaign_id: int, about: str, detail: str) -> int:
    """The email itself (the task's body); returns how many were sent."""
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        return 0
    url = settings.SITE_URL + reverse("admin:campaigns_campaign_change", args=[campaign.pk])
    sent = 0
    for user in staff_to_tell():
        with translation.override(settings.LANGUAGE_CODE):
            headline = (
                _("Paused by the circuit breaker: %(campaign)s") if about == BREAKER else _("Needs you: %(campaign)s")
            ) % {"campaign": str(campaign)[:120]}
        message = make_message(
            "staff-notice",
            user.email,
            {"headline": headline, "detail": detail, "campaign_url": url, "campaign": campaign},
            language=settings.LANGUAGE_CODE,
        )
        message.send()
        sent += 1
    return sent
