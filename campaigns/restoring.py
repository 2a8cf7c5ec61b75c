"""After a database restore: hold whatever the restored ledger would send a second time.

A PostgreSQL backup restores the ledger to the moment it was taken, so every
email sent after that moment is ``queued`` again and the workers would send
it once more. ``manage.py restored_from_backup`` (run after the restore and
before any worker or beat starts) calls ``hold_everything``: campaigns that
were sending are paused through the lifecycle with the reason on their page,
rows caught in ``sending`` become ``unknown`` (as the sweeper does after a
dead worker), and a scheduled campaign whose time has passed goes back to
draft (it may have gone out already). Staff then resume (some people may get
it twice) or cancel. Everything here is idempotent: held things are no
longer ``sending``, so a second run finds nothing.

The apps above campaigns hold their own sends (letters to targets, journeys)
through ``register``, filled in their ``AppConfig.ready()``; this module never
imports them. Automated campaigns (a journey's email steps) belong to the app
that automates them: it pauses them with ``hold_campaign`` along with its own
pause, so staff see them where they manage them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from campaigns import lifecycle
from campaigns.counters import status_counts
from campaigns.models import Campaign, Delivery

S = Campaign.Status
DS = Delivery.Status
IN_DOUBT = "in flight when the backup was taken: restored from a backup"


@dataclass
class Held:
    """What one app held: a line per thing (for the operator), short totals (for the audit log), next steps."""

    lines: list[str] = field(default_factory=list)
    totals: list[str] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.lines)


Holder = Callable[[], Held]
_holders: dict[str, Holder] = {}


def register(name: str, holder: Holder) -> None:
    """An app above campaigns holds its own sends after a restore (called in its ``AppConfig.ready()``)."""
    _holders[name] = holder


def hold_everything() -> list[Held]:
    """Campaigns first, then each registered app; only the parts that held something."""
    parts = [hold_campaigns(), *(holder() for holder in _holders.values())]
    return [part for part in parts if part]


def paused_reason(waiting: int) -> str:
    return ngettext(
        "Restored from a backup: up to %(n)d email queued when the backup was taken may already have been "
        "sent. Resume to send it anyway (some people may get it twice), or cancel.",
        "Restored from a backup: up to %(n)d emails queued when the backup was taken may already have been "
        "sent. Resume to send them anyway (some people may get it twice), or cancel.",
        waiting,
    ) % {"n": waiting}


def mark_in_doubt(campaign_ids: list[int]) -> int:
    """Rows these campaigns had in ``sending``: unknown, never re-sent blindly (staff may re-send them)."""
    if not campaign_ids:
        return 0
    return Delivery.objects.filter(campaign_id__in=campaign_ids, status=DS.SENDING).update(
        status=DS.UNKNOWN, error=IN_DOUBT
    )


def hold_campaign(campaign: Campaign) -> tuple[int, int]:
    """Pause a sending campaign with the restore's reason; (emails waiting, emails now unknown)."""
    counts = status_counts(campaign.pk)  # the ledger's counters: no scan of a million rows
    waiting = counts.get(DS.QUEUED, 0) + counts.get(DS.HELD, 0)
    lifecycle.pause(campaign=campaign, actor=None, reason=paused_reason(waiting)[:300])
    return waiting, mark_in_doubt([campaign.pk])


def hold_campaigns() -> Held:
    held = Held()
    paused = in_doubt = 0
    for campaign in Campaign.objects.filter(status=S.SENDING, automated=False).order_by("id"):
        waiting, unknown = hold_campaign(campaign)
        paused += 1
        in_doubt += unknown
        held.lines.append(
            f"paused campaign {campaign.pk} “{campaign.subject}”: {waiting} email(s) waiting, "
            f"{unknown} in flight now unknown"
        )
    others = list(
        Campaign.objects.filter(status__in=[S.PAUSED, S.CANCELLED], deliveries__status=DS.SENDING)
        .distinct()
        .values_list("id", flat=True)
    )
    unknown = mark_in_doubt(others)
    in_doubt += unknown
    if unknown:
        held.lines.append(f"{unknown} email(s) in flight in paused or cancelled campaigns {others} now unknown")
    due = Campaign.objects.filter(status=S.SCHEDULED, scheduled_at__lte=timezone.now(), automated=False)
    drafted = 0
    for campaign in due.order_by("id"):
        reason = _(
            "Restored from a backup: its scheduled time had passed, so it may already have been sent. "
            "Check, then send or schedule it again."
        )
        lifecycle.transition(campaign, S.DRAFT, reason=reason[:300])
        drafted += 1
        held.lines.append(
            f"campaign {campaign.pk} “{campaign.subject}” was scheduled for a time now past: back to draft"
        )
    if held:
        held.totals.append(
            f"{paused} campaign(s) paused, {in_doubt} email(s) in flight marked unknown, "
            f"{drafted} scheduled campaign(s) past their time back to draft"
        )
        held.next_steps.append(
            "Campaigns (admin → Campaigns, status Paused): resume each one to send what was waiting "
            "(people who got it after the backup get it twice), or cancel it; “unknown” rows are never re-sent "
            "unless staff press “Re-send the unknown ones”."
        )
    return held
