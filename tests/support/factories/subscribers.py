"""Lists, subscribers, subscriptions and consents.

The factory_boy factories build one row with sensible defaults
(``SubscriberFactory(lists=[peru])`` subscribes too); the ``make_*``
functions are the shapes most tests want: a list by slug (found again if it
exists), Ana with her consent on record, many people at once.
"""

from __future__ import annotations

from typing import Any

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from subscribers.models import Consent, MailingList, Subscriber, Subscription


class MailingListFactory(DjangoModelFactory[MailingList]):
    class Meta:
        model = MailingList
        django_get_or_create = ("slug",)

    slug = "peru"
    name = factory.LazyAttribute(lambda made: made.slug.title())


class SubscriberFactory(DjangoModelFactory[Subscriber]):
    """A confirmed subscriber; ``lists=[…]`` adds an active subscription to each."""

    class Meta:
        model = Subscriber
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"supporter{n}@example.org")
    name = factory.Sequence(lambda n: f"Supporter {n}")
    language = "en"
    status = Subscriber.Status.CONFIRMED
    confirmed_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def lists(self, create: bool, extracted: list[MailingList] | None, **kwargs: Any) -> None:
        for mailing_list in extracted or []:
            Subscription.objects.create(subscriber=self, mailing_list=mailing_list)


class ConsentFactory(DjangoModelFactory[Consent]):
    """The sign-up consent a real supporter would have: the form's wording, where and when, confirmed."""

    class Meta:
        model = Consent

    subscriber = factory.SubFactory(SubscriberFactory)
    email = factory.LazyAttribute(lambda made: made.subscriber.email)
    action = Consent.Action.CONFIRM
    basis = Consent.Basis.EXPRESS
    lists: list[str] = []
    wording = "Yes, send me the bulletin."
    wording_version = "v1"
    language = factory.LazyAttribute(lambda made: made.subscriber.language)
    source = Consent.Source.FORM
    page_url = "https://example.org/signup/"
    ip_address = "203.0.113.7"
    user_agent = "Firefox"
    confirmed_at = factory.LazyFunction(timezone.now)


def make_list(slug: str = "peru", *, public: bool = True, name: str | None = None) -> MailingList:
    """The list ``slug`` (made with ``public`` and ``name`` the first time)."""
    return MailingListFactory(slug=slug, public=public, name=name or slug.title())


def make_subscriber(
    email: str = "ana@example.org",
    *,
    lists: list[MailingList] | None = None,
    status: str = Subscriber.Status.CONFIRMED,
    name: str = "Ana",
    language: str = "en",
) -> Subscriber:
    """A confirmed supporter, with the sign-up consent a real one would have."""
    subscriber = SubscriberFactory(email=email, name=name, language=language, status=status, lists=lists)
    ConsentFactory(subscriber=subscriber, lists=[ml.slug for ml in lists or []])
    return subscriber


def make_people(
    count: int,
    mailing_list: MailingList,
    *,
    prefix: str = "person",
    status: str = Subscriber.Status.CONFIRMED,
    language: str = "en",
    **fields: Any,
) -> list[Subscriber]:
    """``count`` people on ``mailing_list`` (person0@example.org…), in two queries however many."""
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


def mailing_list(slug: str = "news", *, people: int = 0) -> MailingList:
    """The list ``slug`` with ``people`` confirmed subscribers (news0@example.net…)."""
    made = make_list(slug)
    for number in range(people):
        SubscriberFactory(email=f"{slug}{number}@example.net", name="", confirmed_at=None, lists=[made])
    return made


def active_slugs(subscriber: Subscriber) -> set[str]:
    return set(
        subscriber.subscriptions.filter(status=Subscription.Status.ACTIVE).values_list("mailing_list__slug", flat=True)
    )
