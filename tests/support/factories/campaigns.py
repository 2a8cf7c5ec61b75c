"""Campaigns, deliveries (the ledger's rows) and delivery events.

``CampaignFactory(lists=[peru])`` makes a draft bulletin on those lists;
``make_campaign`` is the engine tests' one, ``campaign`` the admin and API
tests' (with an author). ``make_delivery`` is one person who was sent a
campaign; ``engage`` says they opened or clicked an earlier one.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import factory
from django.contrib.auth.models import User
from django.utils import timezone
from factory.django import DjangoModelFactory

from campaigns.models import Campaign, Delivery, DeliveryEvent
from subscribers.models import MailingList, Subscriber
from tests.support.factories.subscribers import SubscriberFactory


class CampaignFactory(DjangoModelFactory[Campaign]):
    """A draft bulletin; ``lists=[…]`` sets its audience."""

    class Meta:
        model = Campaign
        skip_postgeneration_save = True

    subject = "Water defenders detained in Cajamarca"
    body_markdown = "Hello {{ name }}, three water defenders were detained."

    @factory.post_generation
    def lists(self, create: bool, extracted: list[MailingList] | None, **kwargs: Any) -> None:
        if extracted:
            self.lists.set(extracted)


class DeliveryFactory(DjangoModelFactory[Delivery]):
    """One person's row in a sent campaign's ledger."""

    class Meta:
        model = Delivery

    campaign = factory.SubFactory(CampaignFactory, subject="Bulletin 42", body_markdown="", status=Campaign.Status.SENT)
    subscriber = factory.SubFactory(SubscriberFactory)
    status = Delivery.Status.SENT
    sent_at = factory.LazyAttribute(lambda made: timezone.now() if made.status == Delivery.Status.SENT else None)


def make_campaign(lists: list[MailingList], **fields: Any) -> Campaign:
    return CampaignFactory(lists=lists, **fields)


def campaign(*, author: User | None = None, lists: list[MailingList] | None = None, **fields: Any) -> Campaign:
    """A draft by ``author`` (the admin and API tests' campaign)."""
    values = {"subject": "Mining concession suspended", "body_markdown": "The court ruled **today**.", **fields}
    return CampaignFactory(created_by=author, lists=lists, **values)


def make_delivery(
    email: str = "ana@example.org",
    *,
    campaign: Campaign | None = None,
    esp_message_id: str = "",
    status: str = Delivery.Status.SENT,
    mailing_list: MailingList | None = None,
) -> Delivery:
    """``email`` (a new confirmed subscriber) was sent ``campaign`` (a new sent bulletin unless given)."""
    subscriber = SubscriberFactory(email=email, name="", lists=[mailing_list] if mailing_list else None)
    values: dict[str, Any] = {"subscriber": subscriber, "status": status, "esp_message_id": esp_message_id}
    if campaign is not None:
        values["campaign"] = campaign
    return DeliveryFactory(**values)


def engage(subscriber: Subscriber, kind: str, *, days_ago: int) -> None:
    """``subscriber`` opened or clicked (``kind``) an earlier bulletin ``days_ago`` days ago."""
    old = CampaignFactory(subject="Earlier bulletin", body_markdown="", status=Campaign.Status.SENT)
    delivery = DeliveryFactory(campaign=old, subscriber=subscriber)
    DeliveryEvent.objects.create(
        delivery=delivery,
        campaign=old,
        kind=kind,
        event_id=f"test:{subscriber.pk}:{kind}:{days_ago}",
        occurred_at=timezone.now() - timedelta(days=days_ago),
    )
