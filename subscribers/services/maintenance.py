"""Subscribe, confirm, unsubscribe, suppress: every change to a supporter's state."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from subscribers.models import Subscriber, Suppression
from subscribers.services.signup import BOUNCED_CONFIRMATION_INTERVAL, HARD_BOUNCE_REASONS


def purge_unconfirmed(*, older_than_days: int | None = None) -> int:
    """Delete sign-ups never confirmed within the configured number of days."""
    days = settings.TOCSIN_PURGE_UNCONFIRMED_DAYS if older_than_days is None else older_than_days
    cutoff = timezone.now() - timedelta(days=days)
    # Never confirmed (someone who had confirmed once and left keeps their
    # history), and no sign-up request within the period either: a person who
    # signed up again yesterday holds a link that must still work.
    stale = Subscriber.objects.filter(
        status=Subscriber.Status.PENDING, created_at__lt=cutoff, confirmed_at=None
    ).exclude(consents__created_at__gte=cutoff)
    # A hard-bounced address's pending row remembers when it was last sent a
    # confirmation: purged early, the next sign-up would mail it again.
    stale = stale.exclude(
        email_hash__in=Suppression.objects.filter(reason__in=HARD_BOUNCE_REASONS).values("email_hash"),
        last_confirmation_sent_at__gte=timezone.now() - BOUNCED_CONFIRMATION_INTERVAL,
    )
    count = 0
    for subscriber in stale.iterator():
        # Their consent rows were requests that never became consent; they go with them.
        subscriber.consents.all()._raw_delete(subscriber.consents.db)  # type: ignore[attr-defined]
        subscriber.delete()
        count += 1
    return count
