"""Emails to staff: everyone who holds the permission a notice is about, once per address.

The one mechanism for telling staff. Campaigns use it when a campaign needs
someone who may send or pause it (``tell_staff``); the apps above call
``email_staff`` from their own tasks with their own template and permission
(integrations: an endpoint switched off, to whoever may manage endpoints).
Notices are written in the organisation's language (``LANGUAGE_CODE``):
staff accounts carry no language of their own.

A campaign's notice is written to the outbox in the caller's transaction
(``outbox.relay.enqueue``), so it goes out once the change it reports is
committed, even if the broker was down at that moment. The same reason is on
the campaign's page (``status_reason``) and in its history.
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


def addresses_of_staff_who_may(permission: str) -> list[str]:
    """Active staff with an address who hold ``permission`` (``app_label.codename``) or are superusers; each once."""
    app_label, codename = permission.split(".")
    granted = Q(user_permissions__codename=codename, user_permissions__content_type__app_label=app_label) | Q(
        groups__permissions__codename=codename, groups__permissions__content_type__app_label=app_label
    )
    users = get_user_model().objects.filter(is_active=True, is_staff=True).exclude(email="")
    addresses = users.filter(Q(is_superuser=True) | granted).values_list("email", flat=True)
    # Two accounts of one person (a laptop and a phone login) share an inbox: one email.
    return sorted({address.strip().lower(): address for address in addresses}.values())


def email_staff(*, permission: str, template: str, context: dict[str, Any]) -> int:
    """Email ``template`` (templates/emails/) to staff who may act on it, in the organisation's language."""
    recipients = addresses_of_staff_who_may(permission)
    for address in recipients:
        make_message(template, address, context, language=settings.LANGUAGE_CODE).send()
    return len(recipients)


def send_notice(*, campaign_id: int, about: str, detail: str) -> int:
    """The email itself (the task's body); returns how many were sent."""
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        return 0
    with translation.override(settings.LANGUAGE_CODE):
        headline = (
            _("Paused by the circuit breaker: %(campaign)s") if about == BREAKER else _("Needs you: %(campaign)s")
        ) % {"campaign": str(campaign)[:120]}
    url = settings.SITE_URL + reverse("admin:campaigns_campaign_change", args=[campaign.pk])
    context = {"headline": headline, "detail": detail, "campaign_url": url, "campaign": campaign}
    return email_staff(permission=SEND_PERMISSION, template="staff-notice", context=context)
