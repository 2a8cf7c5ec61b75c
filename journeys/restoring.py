"""After a database restore: journeys that would run a step twice are paused (campaigns/restoring.py).

A restored enrolment may stand before a step it ran after the backup was
taken; that step's email row was lost with the rest, so beat would email the
person again. Every active journey with someone due (``due_at`` passed) or
an email step with emails waiting is paused through its ordinary pause
(``setup.set_status``, audited), and its email steps' hidden campaigns are
paused with the restore's reason (``hold_campaign``): a journey's pause stops
people moving on, not the emails already queued. Resuming the journey
resumes them. Journeys whose people all wait for a later time did nothing
after the backup and keep running.
"""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from campaigns.models import AuditLog, Campaign, Delivery
from campaigns.restoring import Held, hold_campaign
from campaigns.staff import audit
from journeys.models import Enrolment, Journey
from journeys.services import setup

S = Campaign.Status
DS = Delivery.Status
# In the audit log's detail of the pause (English, as the log's other details).
REASON = "restored from a backup: people due at a step may already have passed it; resume when satisfied"


def _at_risk() -> list[Journey]:
    due = Enrolment.objects.filter(state=Enrolment.State.ACTIVE, due_at__lte=timezone.now()).values("journey_id")
    waiting = Campaign.objects.filter(
        automated=True, status=S.SENDING, deliveries__status__in=[DS.QUEUED, DS.SENDING]
    ).values("journey_step__journey_id")
    return list(
        Journey.objects.filter(Q(pk__in=due) | Q(pk__in=waiting), status=Journey.Status.ACTIVE)
        .distinct()
        .order_by("id")
    )


def paused_by_restore(journey: Journey) -> bool:
    """Paused, and its latest pause was the restore's (the journey's page says so until it is resumed)."""
    if journey.status != Journey.Status.PAUSED:
        return False
    last = (
        AuditLog.objects.filter(action=audit.JOURNEY_PAUSED, detail__startswith=f"journey #{journey.pk} ")
        .order_by("-created_at", "-id")
        .first()
    )
    return last is not None and last.detail.endswith(REASON)


def hold_journeys() -> Held:
    held = Held()
    journeys = _at_risk()
    emails = 0
    for journey in journeys:
        setup.set_status(journey=journey, active=False, actor=None, reason=REASON)
        waiting_total = 0
        emails_of = Campaign.objects.filter(
            journey_step__journey=journey, status=S.SENDING, deliveries__status__in=[DS.QUEUED, DS.SENDING]
        )
        for campaign in emails_of.distinct().order_by("id"):
            waiting, _unknown = hold_campaign(campaign)
            waiting_total += waiting
            emails += waiting
        held.lines.append(
            f"paused journey {journey.pk} “{journey.name}”: {waiting_total} email(s) of its steps waiting"
        )
    if journeys:
        held.totals.append(f"{len(journeys)} journey(s) paused with {emails} email(s) waiting")
        held.next_steps.append(
            "Journeys (admin → Journeys, status Paused): resume each one (people due move on; its emails waiting "
            "go out, possibly a second time) when you are satisfied."
        )
    return held
