"""Personal links to an action page, for the recipients of a campaign that links to it.

When a campaign's Markdown links to ``/act/<slug>/``, each recipient's copy
links to ``/act/<slug>/you/<token>/`` instead (``personalise``, registered
with ``campaigns.sending.personal_links`` in ``ActionsConfig.ready()``). The
token is signed like the unsubscribe token, never expires, and names the
subscriber and the campaign; its salt names the action, so a token for one
action is worth nothing on another.

Opening the link signs nothing (mail scanners open every link): the page
shows the action, the reader's name as Tocsin has it and one button; the
POST of that button signs. Opening it is a click of the campaign, though
(``record_click``): the link is never wrapped by the click redirect (one row
per reader in the report's top links), so the page counts it itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.urls import reverse

from actions.models import Action, Signature
from campaigns.events.recording import record_first_party_event
from campaigns.events.tracking import tracking_allowed
from campaigns.models import Campaign, Delivery, DeliveryEvent
from campaigns.sending.personal_links import PersonalUrl
from subscribers.models import Subscriber
from subscribers.tokens import FastSigner

_SALT = "tocsin.act.personal.{slug}"
_PAGE = re.compile(r"^/act/(?P<slug>[-a-zA-Z0-9_]+)/$")


@dataclass(frozen=True)
class Reader:
    subscriber: Subscriber
    campaign_id: int | None


def _slug_of(url: str) -> str | None:
    """The action's slug when ``url`` is the public page of an action on this site."""
    parts = urlsplit(url)
    site = urlsplit(settings.SITE_URL)
    if parts.scheme not in ("http", "https") or parts.netloc != site.netloc or parts.query:
        return None
    match = _PAGE.match(parts.path)
    return match.group("slug") if match else None


def personalise(url: str, *, campaign_id: int | None) -> PersonalUrl | None:
    """For campaigns' renderer: the builder of each recipient's link, when ``url`` is an action page."""
    slug = _slug_of(url)
    if slug is None or not Action.objects.filter(slug=slug).exists():
        return None
    signer = FastSigner(_SALT.format(slug=slug), settings.SECRET_KEY)
    pattern = settings.SITE_URL + reverse("actions:personal", args=[slug, "TOKEN"])
    fragment = "#" + urlsplit(url).fragment if urlsplit(url).fragment else ""
    campaign = campaign_id or 0

    def build(subscriber_id: int) -> str:
        return pattern.replace("TOKEN", signer.sign(f"{subscriber_id}.{campaign}")) + fragment

    return build


def personal_url(action: Action, *, subscriber_id: int, campaign_id: int | None = None) -> str:
    """One reader's link (the renderer builds them in bulk through ``personalise``)."""
    token = FastSigner(_SALT.format(slug=action.slug), settings.SECRET_KEY).sign(f"{subscriber_id}.{campaign_id or 0}")
    return settings.SITE_URL + reverse("actions:personal", args=[action.slug, token])


def read_token(action: Action, token: str) -> Reader | None:
    """The reader a token names, or None (tampered, another action's, or the person was erased)."""
    if len(token) > 200:
        return None
    try:
        value = signing.Signer(salt=_SALT.format(slug=action.slug)).unsign(token)
    except signing.BadSignature:
        return None
    subscriber_part, _dot, campaign_part = value.partition(".")
    if not (subscriber_part.isdigit() and campaign_part.isdigit()):
        return None
    subscriber = Subscriber.objects.filter(pk=int(subscriber_part)).exclude(status=Subscriber.Status.ERASED).first()
    if subscriber is None:
        return None
    return Reader(subscriber=subscriber, campaign_id=int(campaign_part) or None)


def known_postal_code(subscriber: Subscriber) -> str:
    """The postal code this person gave when they last signed an action, if any."""
    latest = (
        Signature.objects.filter(email=subscriber.email, erased_at__isnull=True)
        .exclude(postal_code="")
        .order_by("-created_at")
        .values_list("postal_code", flat=True)
        .first()
    )
    return latest or ""


def earlier_signature(action: Action, subscriber: Subscriber) -> Signature | None:
    return Signature.objects.filter(action=action, email=subscriber.email).first()


def record_click(action: Action, reader: Reader) -> None:
    """The reader opened their link: a click of the campaign on the action's public address, once.

    Not for readers whose copy was not tracked (the campaign's, a list's or
    their own choice): a click recorded here would track them all the same.
    """
    if reader.campaign_id is None:
        return
    campaign = Campaign.objects.filter(pk=reader.campaign_id).first()
    if campaign is None or not tracking_allowed(campaign, reader.subscriber, campaign.lists.all()):
        return
    delivery_id = (
        Delivery.objects.filter(campaign=campaign, subscriber=reader.subscriber).values_list("pk", flat=True).first()
    )
    if delivery_id is not None:
        url = settings.SITE_URL + action.get_absolute_url()
        record_first_party_event(delivery_id=delivery_id, kind=DeliveryEvent.Kind.CLICKED, url=url)
