"""People, lists and campaigns for the sending-engine tests (recipients, batching, sending, control)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from campaigns.models import Campaign, Delivery, DeliveryEvent
from subscribers.models import MailingList, Subscriber, Subscription


def make_list(slug: str = "peru") -> MailingList:
    return MailingList.objects.get_or_create(slug=slug, defaults={"name": slug.title()})[0]


def make_people(
    count: int,
    mailing_list: MailingList,
    *,
    prefix: str = "person",
    status: str = Subscriber.Status.CONFIRMED,
    language: str = "en",
    **fields: Any,
) -> list[Subscriber]:
    people = Subscriber.objects.bulk_create(
        [
            Subscriber(
                email=f"{prefix}{i}@example.org",
                name=f"Person {i}",
                status=status,
                language=language,
                confirmed_at=timezone.now(),
                **fields,
            )
            for i in range(count)
        ]
    )
    if not people or people[0].pk is None:  # backends that do not return ids from bulk_create
        people = list(Subscriber.objects.filter(email__startswith=prefix).order_by("id"))
    Subscription.objects.bulk_create([Subscription(subscriber=p, mailing_list=mailing_list) for p in people])
    return people


def make_campaign(lists: list[MailingList], **fields: Any) -> Campaign:
    fields.setdefault("subject", "Water defenders detained in Cajamarca")
    fields.setdefault("body_markdown", "Hello {{ name }}, three water defenders were detained.")
    campaign = Campaign.objects.create(**fields)
    campaign.lists.set(lists)
    return campaign


def engage(subscriber: Subscriber, kind: str, *, days_ago: int) -> None:
    """``subscriber`` opened or clicked (``kind``) an earlier bulletin ``days_ago`` days ago."""
    old = Campaign.objects.create(subject="Earlier bulletin", status=Campaign.Status.SENT)
    delivery = Delivery.objects.create(campaign=old, subscriber=subscriber, status=Delivery.Status.SENT)
    DeliveryEvent.objects.create(
        delivery=delivery,
        campaign=old,
        kind=kind,
        event_id=f"test:{subscriber.pk}:{kind}:{days_ago}",
        occurred_at=timezone.now() - timedelta(days=days_ago),
    )
