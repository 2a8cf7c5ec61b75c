"""Digest mode: each target gets one email a day listing the day's letters of one action.

``build_due`` runs from the sweeper. From the action's digest hour on (in
the organisation's time zone), it writes one ``LetterDigest`` per target
with waiting letters, unique per (action, target, day), and attaches to it
the letters written before that hour, at most the daily cap; the rest wait
for the next day's digest. ``deliver_digest`` then sends it with the ledger
discipline of single letters: the digest and its letters are claimed
together and committed before the message goes out, and recorded together
after; a worker killed mid-send leaves the one digest ``sending``, which the
sweeper calls ``unknown`` with its letters. Under
``TOCSIN_LETTERS_PER_TARGET_PER_DAY`` a digest is one email to its target: a
target that had its day's emails from other actions gets none, and the
digest's letters wait for the next day's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from actions.bounces import BY_HAND_REASON, DIGEST, DO_NOT_EMAIL_REASON
from actions.ledger import Letter, LetterDigest, LetterStatus
from actions.models import Action
from actions.sending import claims, letters, messages, transport
from campaigns.sending.throttle import Throttle

logger = logging.getLogger(__name__)

L = LetterStatus


def digest_time(action: Action, now: datetime | None = None) -> datetime | None:
    """Today's digest moment for ``action`` (organisation's time zone), or None before it."""
    start, _end = claims.day_bounds(now)
    # The wall-clock hour staff set, also on the days the clocks change.
    moment = start.replace(hour=action.digest_hour)
    return moment if (now or timezone.now()) >= moment else None


def _waiting(action: Action, before: datetime) -> Any:
    return Letter.objects.filter(
        action=action, status=L.PENDING, digest__isnull=True, test_to="", created_at__lt=before
    )


def build_due(now: datetime | None = None) -> list[int]:
    """Write today's digests for every action whose digest hour has come; their ids."""
    built: list[int] = []
    for action in Action.objects.filter(kind=Action.Kind.LETTER, delivery_mode=Action.DeliveryMode.DIGEST):
        moment = digest_time(action, now)
        if moment is None:
            continue
        _keep_for_hand_delivery(action, moment)
        target_ids = set(_waiting(action, moment).values_list("target_id", flat=True).distinct())
        for target_id in sorted(target_ids):
            digest_id = _build_one(action, target_id, moment)
            if digest_id is not None:
                built.append(digest_id)
    return built


def _keep_for_hand_delivery(action: Action, moment: datetime) -> None:
    """Waiting letters to a target that takes no email, or whose address bounces: for staff to deliver by hand."""
    waiting = _waiting(action, moment)
    waiting.filter(target__do_not_email=True).update(status=L.BY_HAND, error=DO_NOT_EMAIL_REASON)
    waiting.filter(target__bouncing_since__isnull=False).update(status=L.BY_HAND, error=BY_HAND_REASON)


def _build_one(action: Action, target_id: int, moment: datetime) -> int | None:
    """Today's digest for one target, once; None when it exists already or nothing waits."""
    with transaction.atomic():
        digest, created = LetterDigest.objects.get_or_create(
            action=action, target_id=target_id, day=timezone.localdate(moment)
        )
        if not created:
            return None  # today's went out (or is going): the rest waits for tomorrow's
        waiting = _waiting(action, moment).filter(target_id=target_id).order_by("id")
        ids = list(waiting.select_for_update(skip_locked=True).values_list("id", flat=True)[: action.daily_cap])
        if not ids:
            transaction.set_rollback(True)
            return None
        Letter.objects.filter(pk__in=ids, status=L.PENDING).update(digest=digest, lease_until=None)
    return digest.pk


def lease_due(limit: int = 500) -> list[int]:
    """Lease pending, due digests that no task holds; their ids, to queue."""
    now = timezone.now()
    due = Q(not_before__isnull=True) | Q(not_before__lte=now)
    lapsed = Q(lease_until__isnull=True) | Q(lease_until__lte=now)
    with transaction.atomic():
        ids = list(
            LetterDigest.objects.filter(due, lapsed, status=L.PENDING)
            .order_by("id")
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)[:limit]
        )
        LetterDigest.objects.filter(pk__in=ids).update(lease_until=claims.queue_lease())
    return ids


def hold(digest_id: int, *, seconds: float) -> None:
    until = timezone.now() + timedelta(seconds=seconds + settings.TOCSIN_SEND_QUEUE_LEASE_SECONDS)
    LetterDigest.objects.filter(pk=digest_id, status=L.PENDING).update(lease_until=until)


def release(digest_id: int, *, not_before: datetime | None = None) -> None:
    LetterDigest.objects.filter(pk=digest_id, status=L.PENDING).update(lease_until=None, not_before=not_before)


def _over_overall_cap(digest_id: int, due: Q) -> bool:
    """Under ``TOCSIN_LETTERS_PER_TARGET_PER_DAY``, with the target locked: True if the target had its emails today.

    Then the digest is not sent: its letters leave it and wait for the next day's
    digest (one digest a day per action stays the rule), saying why; the day's
    digest row stays, skipped, so that the sweeper does not build it again today.
    """
    overall = claims.overall_cap()
    target_id = LetterDigest.objects.filter(due, pk=digest_id, status=L.PENDING).values_list("target_id", flat=True)
    if not overall or not target_id:
        return False
    claims.lock_target(target_id[0])
    start, end = claims.day_bounds()
    if claims.emails_today(target_id[0], start, end) < overall:
        return False
    LetterDigest.objects.filter(pk=digest_id, status=L.PENDING).update(
        status=L.SKIPPED, error=claims.OVERALL_CAP_REASON, lease_until=None
    )
    Letter.objects.filter(digest_id=digest_id, status=L.PENDING).update(
        digest=None, not_before=end, lease_until=None, error=claims.OVERALL_CAP_REASON
    )
    return True


def _claim(digest_id: int) -> bool:
    now = timezone.now()
    due = Q(not_before__isnull=True) | Q(not_before__lte=now)
    with transaction.atomic():
        if _over_overall_cap(digest_id, due):
            return False
        won = LetterDigest.objects.filter(due, pk=digest_id, status=L.PENDING).update(
            status=L.SENDING, claimed_at=now, attempts=F("attempts") + 1
        )
        if won:
            Letter.objects.filter(digest_id=digest_id, status=L.PENDING).update(status=L.SENDING, claimed_at=now)
    return bool(won)


def _record(digest_id: int, verdict: transport.Verdict) -> str:
    """The digest's outcome, on it and on its letters, in one transaction."""
    now = timezone.now()
    if verdict.outcome == transport.RETRY:
        status, sent_at = L.PENDING, None
    else:
        status = {transport.SENT: L.SENT, transport.FAILED: L.FAILED}.get(verdict.outcome, L.UNKNOWN)
        sent_at = now if status == L.SENT else None
    fields: dict[str, Any] = {"status": status, "sent_at": sent_at, "error": verdict.error[:500]}
    fields["esp_message_id"] = verdict.message_id[:255]
    with transaction.atomic():
        digest_fields = {**fields, "lease_until": F("lease_until") if status == L.PENDING else None}
        LetterDigest.objects.filter(pk=digest_id, status__in=claims.IN_FLIGHT).update(**digest_fields)
        Letter.objects.filter(digest_id=digest_id, status__in=claims.IN_FLIGHT).update(**fields)
    return status


def deliver_digest(digest_id: int, *, connection_factory: Callable[[], Any] | None = None) -> transport.Verdict | None:
    """Send one digest, once; its verdict, or None when it was not ours to send."""
    if not _claim(digest_id):
        return None
    digest = LetterDigest.objects.select_related("action", "target").get(pk=digest_id)
    rows = list(Letter.objects.filter(digest_id=digest_id, status=L.SENDING).order_by("id").values(*letters.FIELDS))
    if not rows:  # every signer was erased in the meantime
        LetterDigest.objects.filter(pk=digest_id).update(status=L.SKIPPED, error="no letter left to send")
        return None
    Throttle().wait()
    connection = (connection_factory or transport.open_connection)()
    try:
        try:
            message = messages.digest_message(
                digest_id=digest_id,
                action_title=digest.action.title,
                target=messages.Recipient(digest.target.name, digest.target.email, digest.target.language),
                supporters=[letters.supporter_of(row) for row in rows],
            )
        except Exception as exc:
            verdict = transport.failure(exc)
        else:
            with claims.fast_commits():
                verdict = transport.send(connection, message, kind=DIGEST, row_id=digest_id)
    finally:
        transport.close_quietly(connection)
    _record(digest_id, verdict)
    if verdict.outcome != transport.SENT:
        logger.warning("digest %s: %s: %s", digest_id, verdict.outcome, verdict.error)
    return verdict
