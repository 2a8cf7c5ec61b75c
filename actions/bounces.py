"""Letters and digests that come back: the letter fails, the target's address is flagged, the supporter is left alone.

Each letter and each digest sent over SMTP has its own VERP envelope sender
(``bounces+letter-<token>@…``, ``bounces+digest-<token>@…``: campaigns'
``verp`` with a kind of ours, never confused with a campaign delivery's).
``manage.py ingest_bounce`` and ``poll_bounces`` read the returned message in
campaigns, which hands it here through the handlers registered in
``ActionsConfig.ready()`` (``campaigns.events.bounces.returns``).

A hard bounce or a complaint marks the letter (or the digest and its letters)
failed with the server's reason, and flags the target as bouncing: its
later letters, and those still waiting, are collected for staff to deliver by
hand, exactly like a "do not email" target's, until staff fix the address or
clear the flag. A soft bounce only counts. The supporter did nothing wrong:
nothing here touches subscribers or their suppression list. A bounce of a
test letter (sent to staff, not to the target) fails the letter and flags
nobody.
"""

from __future__ import annotations

import hashlib

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from actions.ledger import Letter, LetterBounce, LetterDigest, LetterStatus
from actions.models import Target
from campaigns.events.bounces.reading import Report
from campaigns.events.bounces.returns import Outcome

LETTER, DIGEST = "letter", "digest"
L = LetterStatus
# Why a letter waits for staff instead of an email; "bounced" is what the tests and staff look for.
BY_HAND_REASON = "the target's address bounced: deliver by hand"
DO_NOT_EMAIL_REASON = "the target takes no email"
_FLAGGING = {LetterBounce.Kind.HARD, LetterBounce.Kind.COMPLAINT}


def letter_returned(letter_id: int, report: Report, raw: bytes) -> Outcome:
    row = Letter.objects.filter(pk=letter_id).values("target_id", "test_to").first()
    if row is None:
        return Outcome("ignored", "its letter no longer exists", letter_id, LETTER)
    return _record(
        report,
        raw,
        kind=LETTER,
        row_id=letter_id,
        target_id=row["target_id"],
        letter_ids=[letter_id],
        flags_target=not row["test_to"],
    )


def digest_returned(digest_id: int, report: Report, raw: bytes) -> Outcome:
    digest = LetterDigest.objects.filter(pk=digest_id).values("target_id").first()
    if digest is None:
        return Outcome("ignored", "its digest no longer exists", digest_id, DIGEST)
    letter_ids = list(Letter.objects.filter(digest_id=digest_id).values_list("id", flat=True))
    return _record(report, raw, kind=DIGEST, row_id=digest_id, target_id=digest["target_id"], letter_ids=letter_ids)


def _reason(report: Report) -> str:
    # Stored as the server said it, like the send errors: the admin shows it as it is.
    what = "complaint" if report.verdict == "complaint" else "bounce"
    return f"{what}: {report.reason or report.status}".strip(" :")[:500]


def _record(
    report: Report,
    raw: bytes,
    *,
    kind: str,
    row_id: int,
    target_id: int,
    letter_ids: list[int],
    flags_target: bool = True,
) -> Outcome:
    # The bounce's own Message-ID makes a second reading of it a replay; without one, its bytes do.
    event_id = report.message_id[:200] or "sha256:" + hashlib.sha256(raw).hexdigest()
    verdict = LetterBounce.Kind(report.verdict or LetterBounce.Kind.HARD)
    reason = _reason(report)
    with transaction.atomic():
        _bounce, created = LetterBounce.objects.get_or_create(
            event_id=f"{event_id}:{kind}:{row_id}"[:255],
            defaults={
                "kind": verdict,
                "target_id": target_id,
                "letter_id": row_id if kind == LETTER else None,
                "digest_id": row_id if kind == DIGEST else None,
                "reason": reason,
            },
        )
        if not created:
            return Outcome("duplicate", "this message was already recorded", row_id, kind)
        if verdict in _FLAGGING:
            _fail(kind, row_id, letter_ids, reason)
            if flags_target:
                flag(target_id=target_id, reason=reason)
        elif verdict == LetterBounce.Kind.SOFT:
            Target.objects.filter(pk=target_id).update(soft_bounces=F("soft_bounces") + 1)
    return Outcome("recorded", f"{verdict} ({report.shape}) {report.reason}".strip(), row_id, kind)


def _fail(kind: str, row_id: int, letter_ids: list[int], reason: str) -> None:
    # Only what went out: a letter still pending or already failed keeps its own story.
    went_out = [L.SENT, L.UNKNOWN]
    Letter.objects.filter(pk__in=letter_ids, status__in=went_out).update(status=L.FAILED, error=reason)
    if kind == DIGEST:
        LetterDigest.objects.filter(pk=row_id, status__in=went_out).update(status=L.FAILED, error=reason)


def flag(*, target_id: int, reason: str) -> None:
    """The target's address bounces: flagged (the first reason kept), its waiting letters kept for delivery by hand."""
    Target.objects.filter(pk=target_id, bouncing_since__isnull=True).update(
        bouncing_since=timezone.now(), bounce_reason=reason[:500]
    )
    # Pending only: a claimed letter is on the wire already; the send step settles any it races with.
    Letter.objects.filter(target_id=target_id, status=L.PENDING, test_to="").update(
        status=L.BY_HAND, error=BY_HAND_REASON, lease_until=None
    )


def clear(*, target: Target) -> bool:
    """Staff say the address works again (fixed, or the office is back); False if it was not flagged."""
    return bool(
        Target.objects.filter(pk=target.pk, bouncing_since__isnull=False).update(
            bouncing_since=None, bounce_reason="", soft_bounces=0
        )
    )
