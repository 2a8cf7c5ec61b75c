"""Personas for the leaving, preferences, erasure and import tests."""

from __future__ import annotations

from django.utils import timezone

from subscribers.models import Consent, MailingList, Subscriber, Subscription


def make_list(slug: str, *, public: bool = True, name: str | None = None) -> MailingList:
    return MailingList.objects.create(slug=slug, name=name or slug.title(), public=public)


def make_subscriber(
    email: str = "ana@example.org",
    *,
    lists: list[MailingList] | None = None,
    status: str = Subscriber.Status.CONFIRMED,
    name: str = "Ana",
    language: str = "en",
) -> Subscriber:
    """A confirmed supporter, with the sign-up consent a real one would have."""
    subscriber = Subscriber.objects.create(
        email=email, name=name, language=language, status=status, confirmed_at=timezone.now()
    )
    for mailing_list in lists or []:
        Subscription.objects.create(subscriber=subscriber, mailing_list=mailing_list)
    Consent.objects.create(
        subscriber=subscriber,
        email=subscriber.email,
        action=Consent.Action.CONFIRM,
        basis=Consent.Basis.EXPRESS,
        lists=[ml.slug for ml in lists or []],
        wording="Yes, send me the bulletin.",
        wording_version="v1",
        language=language,
        source=Consent.Source.FORM,
        page_url="https://example.org/signup/",
        ip_address="203.0.113.7",
        user_agent="Firefox",
        confirmed_at=timezone.now(),
    )
    return subscriber


def active_slugs(subscriber: Subscriber) -> set[str]:
    return set(
        subscriber.subscriptions.filter(status=Subscription.Status.ACTIVE).values_list("mailing_list__slug", flat=True)
    )
