"""Subscribe, confirm, unsubscribe, suppress: every change to a supporter's state."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from subscribers.models import Subscriber


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
    count = 0
    for subscriber in stale.iterator():
        # Their consent rows were requests that never became consent; they go with them.
        subscriber.consents.all()._raw_delete(subscriber.consents.db)  # type: ignore[attr-defined]
        subscriber.delete()
        count += 1
    return count
