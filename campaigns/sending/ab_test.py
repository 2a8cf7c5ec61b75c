"""A/B tests of subjects: a sample, a wait, a circuit breaker, then the winner to everyone else.

All in the one delivery ledger, so nobody is mailed twice:

1. ``draw_sample`` (called by the audience snapshot, which wrote everyone
   ``held``): a random sample, ``sample_percent`` of the audience, becomes
   ``queued``, each row with a variant number (1 = the first subject) dealt
   round-robin over a random order, so each subject gets an equal random share.
   Only the sample is cut into batches and sent.
2. ``hold`` (called where the engine would mark the campaign sent, so after
   the sample's last batch and by beat's sweeper every few seconds): the first
   call after the sample's send ended notes the time; until ``wait_minutes``
   have passed the campaign stays ``sending`` with nothing in the queue. No
   countdown task waits in Redis (it would come back after the visibility
   timeout): the database holds the time and beat finds it.
3. The circuit breaker, at every such call until the winner is chosen: if a
   variant's or the whole sample's unsubscribe or complaint rate passes its
   threshold (``TOCSIN_BREAKER_*``), the campaign is paused with the reason and
   staff are told. Resuming is staff's decision to go on: the breaker then
   stays quiet for this campaign.
4. Once the wait is over, the winner by the test's metric (clicks by default:
   opens are unreliable, Apple Mail Privacy Protection "opens" every email)
   becomes the campaign's subject, the held rows become ``queued`` and are
   batched, and the campaign goes on to ``sent`` like any other.
"""

# The SQL here is built from model table names and code constants; every value is a parameter.
# ruff: noqa: S608
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns import merge_fields
from campaigns.models import ABTest, Campaign, Delivery, DeliveryEvent
from campaigns.staff import audit

DS = Delivery.Status
Kind = DeliveryEvent.Kind

# What ``hold`` found.
NOT_HOLDING = ""
WAITING = "waiting"
PAUSED = "paused"
RELEASED = "released"


def find_test(campaign: Campaign) -> ABTest | None:
    return ABTest.objects.filter(campaign=campaign).first()


def sample_size(audience: int, *, percent: int, variants: int) -> int:
    """``percent`` of the audience, at least one person per variant, at most everyone."""
    wanted = max(math.ceil(audience * percent / 100), variants)
    return min(wanted, audience)


def draw_sample(campaign: Campaign) -> int:
    """Turn a random sample of the campaign's held rows into queued rows of each variant; return its size."""
    test = find_test(campaign)
    if test is None:
        return 0
    held = Delivery.objects.filter(campaign=campaign, status=DS.HELD).count()
    size = sample_size(held, percent=test.sample_percent, variants=len(test.subjects))
    table = Delivery._meta.db_table
    # The sample is a random pick; the variants are dealt round-robin over a
    # second random order of it, so each has an equal share (±1).
    sql = (
        f"UPDATE {table} SET status = %s, variant = picked.variant FROM ("
        "  SELECT id, 1 + ((ROW_NUMBER() OVER (ORDER BY random())) - 1) %% %s AS variant FROM ("
        f"    SELECT id FROM {table} WHERE campaign_id = %s AND status = %s ORDER BY random() LIMIT %s"
        "  ) sample"
        f") picked WHERE {table}.id = picked.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [DS.QUEUED, len(test.subjects), campaign.pk, DS.HELD, size])
    ABTest.objects.filter(pk=test.pk).update(sample_size=size)
    return size


# --- figures --------------------------------------------------------------------------------


@dataclass
class Variant:
    number: int
    subject: str
    sent: int = 0
    opens: int = 0
    clicks: int = 0
    unsubscribes: int = 0
    complaints: int = 0

    def rate(self, count: int) -> float:
        return count / self.sent if self.sent else 0.0


_EVENT_FIELDS = {
    Kind.OPENED: "opens",
    Kind.CLICKED: "clicks",
    Kind.UNSUBSCRIBED: "unsubscribes",
    Kind.COMPLAINED: "complaints",
}


def variants(test: ABTest) -> list[Variant]:
    """Each subject's sample: emails sent, and people who opened, clicked, unsubscribed, complained (two queries)."""
    found = {number: Variant(number, subject) for number, subject in enumerate(test.subjects, start=1)}
    sent = (
        Delivery.objects.filter(campaign_id=test.campaign_id, variant__isnull=False, status=DS.SENT)
        .values_list("variant")
        .annotate(n=Count("id"))
    )
    for number, count in sent:
        if number in found:
            found[number].sent = count
    events = (
        DeliveryEvent.objects.filter(
            campaign_id=test.campaign_id, kind__in=list(_EVENT_FIELDS), delivery__variant__isnull=False
        )
        .values_list("delivery__variant", "kind")
        .annotate(n=Count("delivery", distinct=True))
    )
    for number, kind, count in events:
        if number in found:
            setattr(found[number], _EVENT_FIELDS[kind], count)
    return list(found.values())


def winner(figures: list[Variant], metric: str) -> Variant:
    """The best rate of ``metric`` (clicks or opens) per email sent; a tie goes to the earlier subject."""
    field = "opens" if metric == ABTest.Metric.OPENS else "clicks"
    return max(figures, key=lambda v: (v.rate(getattr(v, field)), -v.number))


# --- the circuit breaker ------------------------------------------------------------------------


def _over(count: int, sent: int, percent: float) -> bool:
    return sent > 0 and count * 100 > percent * sent


def breaker_reason(figures: list[Variant]) -> str | None:
    """Why the sample must stop the campaign, or None (rates judged once enough emails were sent)."""
    minimum = max(settings.TOCSIN_BREAKER_MIN_SAMPLE, 1)
    whole = Variant(0, "", sent=sum(v.sent for v in figures))
    whole.unsubscribes = sum(v.unsubscribes for v in figures)
    whole.complaints = sum(v.complaints for v in figures)
    for variant in [*figures, whole]:
        if variant.sent < minimum:
            continue
        who = (
            _("the subject “%(subject)s”") % {"subject": variant.subject[:80]}
            if variant.number
            else _("the sample as a whole")
        )
        for label, count, percent in (
            (_("unsubscribes"), variant.unsubscribes, settings.TOCSIN_BREAKER_UNSUBSCRIBE_PERCENT),
            (_("complaints"), variant.complaints, settings.TOCSIN_BREAKER_COMPLAINT_PERCENT),
        ):
            if _over(count, variant.sent, percent):
                return _(
                    "Circuit breaker: %(who)s had %(count)s %(what)s for %(sent)s emails (%(rate).1f %%, over "
                    "%(limit)s %%). Paused before the rest of the list got it: resume to send the winner anyway, "
                    "or cancel."
                ) % {
                    "who": who,
                    "count": count,
                    "what": label,
                    "sent": variant.sent,
                    "rate": 100 * count / variant.sent,
                    "limit": f"{percent:g}",
                }
    return None


# --- waiting, then the winner ------------------------------------------------------------------


def hold(campaign: Campaign, *, pause: Callable[[Campaign, str], object], cut: Callable[[Campaign], object]) -> str:
    """Where the engine would mark ``campaign`` sent: keep it sending while its A/B test waits.

    Returns ``NOT_HOLDING`` (nothing held: finish as usual), ``WAITING``,
    ``PAUSED`` (the circuit breaker tripped: ``pause(campaign, reason)`` was
    called, ``campaigns.lifecycle.pause_by_breaker``) or ``RELEASED`` (the
    winner goes to the rest now: ``cut(campaign)``, ``batching.cut_batches``,
    made their batches in the same transaction; dispatch them).
    """
    if not Delivery.objects.filter(campaign=campaign, status=DS.HELD).exists():
        return NOT_HOLDING
    with transaction.atomic():
        test = ABTest.objects.select_for_update().filter(campaign=campaign).first()
        if test is None or test.winner is not None:
            return NOT_HOLDING
        now = timezone.now()
        if test.sample_sent_at is None:
            test.sample_sent_at = now
            ABTest.objects.filter(pk=test.pk).update(sample_sent_at=now)
        figures = variants(test)
        if test.breaker_tripped_at is None:
            reason = breaker_reason(figures)
            if reason:
                ABTest.objects.filter(pk=test.pk).update(breaker_tripped_at=now)
                pause(campaign, reason)
                return PAUSED
        if now < test.sample_sent_at + timedelta(minutes=test.wait_minutes):
            return WAITING
        _release(campaign, test, winner(figures, test.metric))
        cut(campaign)
    return RELEASED


def _release(campaign: Campaign, test: ABTest, best: Variant) -> None:
    """The winner becomes the campaign's subject and goes to every held row (called under the test's lock)."""
    now = timezone.now()
    ABTest.objects.filter(pk=test.pk).update(winner=best.number, decided_at=now)
    # A new updated_at: workers build a fresh renderer with the winning subject.
    Campaign.objects.filter(pk=campaign.pk).update(subject=best.subject, updated_at=now)
    campaign.subject = best.subject
    Delivery.objects.filter(campaign=campaign, status=DS.HELD).update(status=DS.QUEUED)
    audit.record(actor=None, action="ab_winner", campaign=campaign, detail=best.subject)


def subject_problems(campaign: Campaign) -> list[str]:
    """Malformed or unknown merge tags in the test's subjects (they block sending, as in any subject)."""
    test = find_test(campaign)
    found = []
    for number, subject in enumerate(test.subjects if test else [], start=1):
        for tag in merge_fields.problems(subject, fields_allowed=True):
            message = _("A/B test subject %(number)s: “%(tag)s” is not a merge field Tocsin knows.")
            found.append(message % {"number": number, "tag": tag})
    return found


def summary(campaign: Campaign) -> dict[str, Any] | None:
    """The test as the API shows it: the winner's subject (null until chosen), and each variant's figures."""
    test = find_test(campaign)
    if test is None:
        return None
    figures = variants(test)
    chosen = next((v.subject for v in figures if v.number == test.winner), None)
    waiting_until = (
        test.sample_sent_at + timedelta(minutes=test.wait_minutes) if test.sample_sent_at and not test.winner else None
    )
    return {
        "winner": chosen,
        "metric": test.metric,
        "sample_percent": test.sample_percent,
        "wait_minutes": test.wait_minutes,
        "sample_size": test.sample_size,
        "winner_at": waiting_until.isoformat() if waiting_until else None,
        "variants": [
            {
                "subject": v.subject,
                "sent": v.sent,
                "opens": v.opens,
                "clicks": v.clicks,
                "unsubscribes": v.unsubscribes,
                "complaints": v.complaints,
            }
            for v in figures
        ],
    }
