"""The letters' ledger statements: claim, record, defer, lease, and the sweeper's repairs.

The same discipline as campaigns' sending engine: a letter is claimed
(``pending → sending``) by a conditional UPDATE that only one transaction can
win, and that claim is committed before the message goes on the wire; the
outcome is recorded after, only on the row this worker claimed (or that the
sweeper meanwhile called ``unknown``). A worker killed mid-send therefore
leaves at most the letter it was sending in ``sending``; the sweeper turns it
into ``unknown`` after ``TOCSIN_SEND_CLAIM_TIMEOUT`` and nothing re-sends it.

Leases say "a task holds these rows": set when the rows are queued, they
keep the sweeper from queueing them twice, and a task lost with its worker
only delays its letters until the lease lapses.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from actions.ledger import Letter, LetterDigest, LetterStatus
from actions.models import Action, Target
from actions.sending.transport import FAILED, RETRY, SENT, UNKNOWN, Verdict
from campaigns.sending import ledger

L = LetterStatus
_FINAL = {SENT: L.SENT, FAILED: L.FAILED, UNKNOWN: L.UNKNOWN}
IN_FLIGHT = [L.SENDING, L.UNKNOWN]
CLAIMED, CAPPED, LOST = "claimed", "capped", "lost"


def give_up_after() -> int:
    """Transient failures one letter may have before it is called failed (staff can retry it)."""
    return max(settings.TOCSIN_SEND_MAX_FAILURES, 1) * 2


@contextlib.contextmanager
def fast_commits() -> Iterator[None]:
    """The sending engine's commit mode for the many tiny ledger commits (campaigns/sending/ledger.py)."""
    ledger.fast_commits()
    try:
        yield
    finally:
        with contextlib.suppress(Exception):  # the connection may be gone; the next use reconnects
            ledger.normal_commits()


def day_bounds(moment: datetime | None = None) -> tuple[datetime, datetime]:
    """The organisation's day (``TIME_ZONE``) around ``moment``: [midnight, next midnight)."""
    local = timezone.localtime(moment or timezone.now())
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    end = timezone.make_aware(datetime.combine(start.date() + timedelta(days=1), datetime.min.time()))
    return start, end


def _due() -> Q:
    return Q(not_before__isnull=True) | Q(not_before__lte=timezone.now())


# --- one letter -------------------------------------------------------------------------


def claim_letter(letter_id: int) -> bool:
    """``pending → sending``, committed; False when another worker got there first (or it is not due)."""
    return bool(
        Letter.objects.filter(_due(), pk=letter_id, status=L.PENDING, digest__isnull=True).update(
            status=L.SENDING, claimed_at=timezone.now(), attempts=F("attempts") + 1
        )
    )


# Why a letter waits for the next day: kept on the pending row (its ``error``) for the action's page.
ACTION_CAP_REASON = "over the action's daily cap for this target: waits for the next day"
OVERALL_CAP_REASON = "over the organisation's daily limit for this target: waits for the next day"
_COUNTED = [L.SENDING, L.SENT, L.UNKNOWN]


def overall_cap() -> int | None:
    """``TOCSIN_LETTERS_PER_TARGET_PER_DAY``: emails a day to one target across every action, or None."""
    return settings.TOCSIN_LETTERS_PER_TARGET_PER_DAY


def lock_target(target_id: int) -> None:
    """Serialise the capped claims for one target (FOR NO KEY UPDATE: signings may still write letters to it)."""
    Target.objects.select_for_update(no_key=True).filter(pk=target_id).first()


def emails_today(target_id: int, start: datetime, end: datetime) -> int:
    """The emails the target got (or is getting) that day from every action: a digest is one, test letters none."""
    letters = Letter.objects.filter(
        target_id=target_id,
        digest__isnull=True,
        test_to="",
        status__in=_COUNTED,
        claimed_at__gte=start,
        claimed_at__lt=end,
    ).count()
    digests = LetterDigest.objects.filter(
        target_id=target_id, status__in=_COUNTED, claimed_at__gte=start, claimed_at__lt=end
    ).count()
    return letters + digests


def waiting_for_tomorrow() -> dict[str, Count]:
    """Annotations for a per-target table: its letters now waiting for the next day, by the cap that held them."""
    later = Q(status=L.PENDING, not_before__gt=timezone.now())
    return {
        "waiting_overall_cap": Count("id", filter=later & Q(error=OVERALL_CAP_REASON)),
        "waiting_action_cap": Count("id", filter=later & Q(error=ACTION_CAP_REASON)),
    }


def claim_within_cap(letter_id: int, *, action_id: int, target_id: int, cap: int | None, overall: int | None) -> str:
    """Claim unless the target is at a cap today; then defer to tomorrow, saying which cap.

    ``cap`` counts this action's letters to the target, ``overall`` every email to
    it (``TOCSIN_LETTERS_PER_TARGET_PER_DAY``). Claims for one target, letters and
    digests alike, are serialised on the target's row, so two workers never both
    take the last place of the day.
    """
    start, end = day_bounds()
    with transaction.atomic():
        lock_target(target_id)
        reason = ""
        if overall and emails_today(target_id, start, end) >= overall:
            reason = OVERALL_CAP_REASON
        elif cap and _action_letters(action_id, target_id, start, end) >= cap:
            reason = ACTION_CAP_REASON
        if reason:
            Letter.objects.filter(pk=letter_id, status=L.PENDING).update(not_before=end, lease_until=None, error=reason)
            if reason == OVERALL_CAP_REASON:
                # Nothing else reaches this target today: its other due letters wait too, at once,
                # rather than each being queued, locked and counted in turn (the count grows with them).
                Letter.objects.filter(
                    _due(), target_id=target_id, status=L.PENDING, digest__isnull=True, test_to=""
                ).update(not_before=end, error=reason)
            return CAPPED
        return CLAIMED if claim_letter(letter_id) else LOST


def _action_letters(action_id: int, target_id: int, start: datetime, end: datetime) -> int:
    return Letter.objects.filter(
        action_id=action_id, target_id=target_id, status__in=_COUNTED, claimed_at__gte=start, claimed_at__lt=end
    ).count()


@dataclass(frozen=True)
class Done:
    """What became of a claimed letter, to record."""

    letter_id: int
    status: str
    message_id: str = ""
    error: str = ""


def done(letter_id: int, verdict: Verdict, *, attempts: int) -> Done:
    """The row's new status for ``verdict``, after ``attempts`` attempts (this one included)."""
    if verdict.outcome == RETRY:
        # Not taken by the server: pending again (the task's lease still covers it), unless it kept failing.
        if attempts < give_up_after():
            return Done(letter_id, L.PENDING, error=verdict.error)
        return Done(letter_id, L.FAILED, error=f"gave up after {attempts} attempts: {verdict.error}")
    return Done(letter_id, _FINAL[verdict.outcome], message_id=verdict.message_id, error=verdict.error)


# Table name from the model, statuses from the code; every value is a parameter. Recording
# one letter's outcome and claiming the next is ONE statement (one round trip, one commit),
# as in campaigns' engine: the claim wins only on a pending, due letter outside any digest;
# the outcome lands only on the row this worker claimed (or the sweeper meanwhile called
# unknown: the worker was slow, not dead). RETURNING says whether the claim was won.
_ADVANCE_SQL = f"""
UPDATE {Letter._meta.db_table} SET
  status = CASE WHEN id = %(claim)s THEN '{L.SENDING}' ELSE %(status)s END,
  claimed_at = CASE WHEN id = %(claim)s THEN %(now)s WHEN %(status)s = '{L.PENDING}' THEN NULL ELSE claimed_at END,
  attempts = CASE WHEN id = %(claim)s THEN attempts + 1 ELSE attempts END,
  sent_at = CASE WHEN id = %(done)s THEN %(sent_at)s ELSE sent_at END,
  esp_message_id = CASE WHEN id = %(done)s THEN %(esp)s ELSE esp_message_id END,
  error = CASE WHEN id = %(done)s THEN %(error)s ELSE error END,
  lease_until = CASE WHEN id = %(done)s AND %(status)s <> '{L.PENDING}' THEN NULL ELSE lease_until END
WHERE (id = %(claim)s AND status = '{L.PENDING}' AND digest_id IS NULL
       AND (not_before IS NULL OR not_before <= %(now)s))
   OR (id = %(done)s AND status IN ('{L.SENDING}', '{L.UNKNOWN}'))
RETURNING id
"""  # noqa: S608


def advance(finished: Done | None, claim_id: int | None) -> bool:
    """Record ``finished`` and claim ``claim_id`` in one committed statement; True if the claim was won."""
    if finished is None and claim_id is None:
        return False
    now = timezone.now()
    params: dict[str, Any] = {
        "claim": claim_id if claim_id is not None else -1,
        "done": finished.letter_id if finished is not None else -1,
        "status": finished.status if finished is not None else L.SENDING,
        "now": now,
        "sent_at": now if finished is not None and finished.status == L.SENT else None,
        "esp": finished.message_id[:255] if finished is not None else "",
        "error": finished.error[:500] if finished is not None else "",
    }
    with connection.cursor() as cursor:
        cursor.execute(_ADVANCE_SQL, params)
        won = [int(row[0]) for row in cursor.fetchall()]
    return claim_id is not None and claim_id in won


def settle(letter_id: int, status: str, reason: str) -> None:
    """A pending letter that will not be emailed after all (erased signer, target by hand or gone)."""
    Letter.objects.filter(pk=letter_id, status__in=[L.PENDING, L.SENDING]).update(
        status=status, error=reason[:500], lease_until=None
    )


# --- leases -----------------------------------------------------------------------------


def queue_lease() -> datetime:
    return timezone.now() + timedelta(seconds=settings.TOCSIN_SEND_QUEUE_LEASE_SECONDS)


def hold(ids: list[int], *, seconds: float) -> None:
    """Keep ``ids`` leased through a back-off (the delayed task holds them)."""
    until = timezone.now() + timedelta(seconds=seconds + settings.TOCSIN_SEND_QUEUE_LEASE_SECONDS)
    Letter.objects.filter(pk__in=ids, status=L.PENDING).update(lease_until=until)


def release(ids: list[int], *, not_before: datetime | None = None) -> None:
    """Hand ``ids`` back to the sweeper (now, or from ``not_before``)."""
    Letter.objects.filter(pk__in=ids, status=L.PENDING).update(lease_until=None, not_before=not_before)


def sent_one_by_one() -> Q:
    """Letters that go on their own: test letters, and every letter of an action not in digest mode."""
    return ~Q(test_to="") | ~Q(action__delivery_mode=Action.DeliveryMode.DIGEST)


def lease_due_letters(limit: int) -> list[int]:
    """Lease up to ``limit`` letters that are due and held by no task; their ids, to queue after commit."""
    now = timezone.now()
    lapsed = Q(lease_until__isnull=True) | Q(lease_until__lte=now)
    with transaction.atomic():
        ids = list(
            Letter.objects.filter(sent_one_by_one(), _due(), lapsed, status=L.PENDING, digest__isnull=True)
            .order_by("id")
            .select_for_update(skip_locked=True, of=("self",))
            .values_list("id", flat=True)[:limit]
        )
        if ids:
            Letter.objects.filter(pk__in=ids).update(lease_until=queue_lease())
    return ids


# --- the sweeper's repairs --------------------------------------------------------------


def mark_stale_unknown() -> int:
    """Letters (and digests) a dead worker left in ``sending``: unknown — shown to staff, never re-sent."""
    cutoff = timezone.now() - timedelta(seconds=settings.TOCSIN_SEND_CLAIM_TIMEOUT)
    reason = "the worker stopped while sending this letter"
    with transaction.atomic():
        digests = list(
            LetterDigest.objects.filter(status=L.SENDING, claimed_at__lt=cutoff).values_list("id", flat=True)
        )
        LetterDigest.objects.filter(pk__in=digests, status=L.SENDING).update(status=L.UNKNOWN, error=reason)
        Letter.objects.filter(digest_id__in=digests, status=L.SENDING).update(status=L.UNKNOWN, error=reason)
        letters = Letter.objects.filter(status=L.SENDING, digest__isnull=True, claimed_at__lt=cutoff).update(
            status=L.UNKNOWN, error=reason, lease_until=None
        )
    return letters + len(digests)


def reopen_failed(*, action_id: int, target_id: int | None = None) -> int:
    """Failed letters of an action (of one target) pending again, with their digests; how many."""
    with transaction.atomic():
        failed = Letter.objects.filter(action_id=action_id, status=L.FAILED)
        if target_id is not None:
            failed = failed.filter(target_id=target_id)
        digest_ids = set(failed.exclude(digest__isnull=True).values_list("digest_id", flat=True))
        fresh = {"status": L.PENDING, "error": "", "not_before": None, "lease_until": None, "attempts": 0}
        LetterDigest.objects.filter(pk__in=digest_ids, status=L.FAILED).update(**fresh)
        return failed.update(**fresh)
