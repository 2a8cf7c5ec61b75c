"""Writing journeys: create one with its steps, its emails, and safe changes to the steps.

One keyword-only function per write, for the admin, the API and seed_demo.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from typing import Any

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from actions.models import Action
from campaigns import lifecycle
from campaigns.models import Campaign, CampaignTranslation, Delivery
from campaigns.staff import audit
from journeys.models import Enrolment, Journey, Step
from subscribers.models import MailingList


class InvalidJourney(ValueError):
    """What is wrong, by field (the API's 400, the admin's form errors)."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


@dataclass
class EmailContent:
    subject: str
    body_markdown: str
    language: str = ""
    translations: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass
class StepSpec:
    """One step as the API or seed_demo gives it."""

    kind: str
    email: EmailContent | None = None
    wait_amount: int | None = None
    wait_unit: str = ""
    wait_weekday: int | None = None
    wait_time: time | None = None
    condition: str = ""
    go_to: int | None = None  # 1-based position of the step to branch to
    mailing_list: MailingList | None = None


def check_trigger(
    *, trigger: str, trigger_list: MailingList | None, trigger_action: Action | None, inactive_days: int | None
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if trigger == Journey.Trigger.JOINED_LIST and trigger_list is None:
        errors["trigger.list"] = [_("Choose the list whose new members enter the journey.")]
    if trigger == Journey.Trigger.ACTED and trigger_action is None:
        errors["trigger.action"] = [_("Choose the action whose signers enter the journey.")]
    if trigger == Journey.Trigger.INACTIVE and not inactive_days:
        errors["trigger.days"] = [_("Say after how many days without an open or click.")]
    return errors


def create_email(*, journey: Journey, content: EmailContent, actor: Any = None) -> Campaign:
    """The hidden campaign behind an email step: written like a campaign, open for the journey's people."""
    campaign = Campaign.objects.create(
        kind=Campaign.Kind.BULLETIN,
        subject=content.subject,
        body_markdown=content.body_markdown,
        language=content.language or Campaign._meta.get_field("language").get_default(),
        automated=True,
        public_archive=False,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    for language, version in content.translations.items():
        CampaignTranslation.objects.create(
            campaign=campaign,
            language=language,
            subject=version.get("subject", ""),
            body_markdown=version.get("body_markdown", ""),
        )
    sync_lists(journey, campaigns=[campaign])
    problems = lifecycle.content_problems(campaign)
    if problems:
        raise InvalidJourney({"steps": problems})
    lifecycle.transition(campaign, Campaign.Status.SENDING, actor=actor, reason=_("A journey's email."))
    return campaign


def sync_lists(journey: Journey, *, campaigns: list[Campaign] | None = None) -> None:
    """A journey's emails name its list: the footer's reason, and the list's privacy switch, apply."""
    if campaigns is None:
        campaigns = list(Campaign.objects.filter(journey_step__journey=journey))
    lists = [journey.trigger_list] if journey.trigger_list is not None else []
    for campaign in campaigns:
        campaign.lists.set(lists)


def _step(journey: Journey, position: int, spec: StepSpec, actor: Any) -> Step:
    step = Step(
        journey=journey,
        position=position,
        kind=spec.kind,
        wait_amount=spec.wait_amount,
        wait_unit=spec.wait_unit,
        wait_weekday=spec.wait_weekday,
        wait_time=spec.wait_time,
        condition=spec.condition,
        mailing_list=spec.mailing_list,
    )
    if spec.kind == Step.Kind.EMAIL and spec.email is not None:
        step.campaign = create_email(journey=journey, content=spec.email, actor=actor)
    step.save()
    return step


@transaction.atomic
def create_journey(
    *,
    name: str,
    trigger: str,
    steps: list[StepSpec],
    trigger_list: MailingList | None = None,
    trigger_action: Action | None = None,
    inactive_days: int | None = None,
    active: bool = True,
    exit_on_donation: bool = False,
    actor: Any = None,
) -> Journey:
    """A journey and its steps, all or nothing. Nobody already on the list enters: only people from now on."""
    errors = check_trigger(
        trigger=trigger, trigger_list=trigger_list, trigger_action=trigger_action, inactive_days=inactive_days
    )
    for index, spec in enumerate(steps, start=1):
        if spec.kind == Step.Kind.CONDITION and (spec.go_to is None or not index < spec.go_to <= len(steps)):
            errors.setdefault("steps", []).append(
                _("Step %(n)d: a condition goes to a later step (%(first)d to %(last)d).")
                % {"n": index, "first": index + 1, "last": len(steps)}
            )
    if errors:
        raise InvalidJourney(errors)
    journey = Journey.objects.create(
        name=name,
        trigger=trigger,
        trigger_list=trigger_list,
        trigger_action=trigger_action,
        inactive_days=inactive_days,
        status=Journey.Status.ACTIVE if active else Journey.Status.PAUSED,
        exit_on_donation=exit_on_donation,
    )
    made = [_step(journey, index * 10, spec, actor) for index, spec in enumerate(steps, start=1)]
    for step, spec in zip(made, steps, strict=True):
        if spec.go_to is not None and step.kind == Step.Kind.CONDITION:
            step.branch_to = made[spec.go_to - 1]
            step.save(update_fields=["branch_to"])
    return journey


def set_status(*, journey: Journey, active: bool, actor: Any = None, reason: str = "") -> Journey:
    """Pause: nobody moves on (people still enter and wait at their step). Resume: everyone due moves on.

    Resuming also resumes the journey's email steps that were paused (by a restore from a backup, or after
    failures in a row): staff manage a journey's emails through the journey.

    A change is written to the audit log (who, which journey); asking for the status it already has is not.
    """
    status = Journey.Status.ACTIVE if active else Journey.Status.PAUSED
    if journey.status == status:
        return journey
    with transaction.atomic():
        journey.status = status
        journey.save(update_fields=["status"])
        audit.record(
            actor=actor,
            action=audit.JOURNEY_RESUMED if active else audit.JOURNEY_PAUSED,
            detail=f"journey #{journey.pk} {journey.name}" + (f": {reason}" if reason else ""),
        )
        if active:
            for campaign in Campaign.objects.filter(journey_step__journey=journey, status=Campaign.Status.PAUSED):
                lifecycle.resume(campaign=campaign, actor=actor, reason=_("The journey was resumed."))
    return journey


_COUNTS = {
    "entered": Count("id"),
    "active": Count("id", filter=Q(state=Enrolment.State.ACTIVE)),
    "completed": Count("id", filter=Q(state=Enrolment.State.COMPLETED)),
    "exited": Count("id", filter=Q(state=Enrolment.State.EXITED)),
}


def journey_counts(journey: Journey) -> dict[str, int]:
    """How many people entered, are in, completed and left ``journey`` (one aggregate query)."""
    found = Enrolment.objects.filter(journey=journey).aggregate(**_COUNTS)
    return {key: int(value or 0) for key, value in found.items()}


def counts_by_journey() -> dict[int, dict[str, int]]:
    """``journey_counts`` of every journey that anyone entered, in one grouped query."""
    rows = Enrolment.objects.values("journey_id").annotate(**_COUNTS).order_by()
    return {row.pop("journey_id"): {key: int(value or 0) for key, value in row.items()} for row in rows}


def people_at_steps(journey: Journey) -> dict[int, int]:
    """How many people are due to run each step (those waiting are counted at the step after the wait)."""
    rows = (
        Enrolment.objects.filter(journey=journey, state=Enrolment.State.ACTIVE, step__isnull=False)
        .values("step")
        .annotate(n=Count("id"))
    )
    return {row["step"]: row["n"] for row in rows}


def remove_step(*, step: Step) -> int:
    """Delete a step; the people due to run it move to the next step (or finish). Returns how many moved.

    Its email's ledger stays for the reports; the deliveries already queued
    still go out, and the hidden campaign then finishes like any campaign.
    """
    with transaction.atomic():
        locked = Step.objects.select_for_update().get(pk=step.pk)
        ordered = list(Step.objects.filter(journey_id=locked.journey_id).order_by("position", "id"))
        index = [s.pk for s in ordered].index(locked.pk)
        after = ordered[index + 1] if index + 1 < len(ordered) else None
        waiting = Enrolment.objects.select_for_update().filter(step=locked, state=Enrolment.State.ACTIVE)
        ids = list(waiting.values_list("id", flat=True))
        if after is not None:
            moved = Enrolment.objects.filter(pk__in=ids).update(step=after)
        else:
            moved = Enrolment.objects.filter(pk__in=ids).update(
                step=None, state=Enrolment.State.COMPLETED, finished_at=timezone.now()
            )
        campaign = locked.campaign
        locked.delete()
        if campaign is not None:
            _close_email(campaign)
    return moved


def delete_journey(*, journey: Journey) -> None:
    """Delete a journey, its steps and everyone's place in it; its emails finish like removed steps'."""
    with transaction.atomic():
        campaigns = list(Campaign.objects.filter(journey_step__journey=journey))
        journey.delete()
        for campaign in campaigns:
            _close_email(campaign)


def _close_email(campaign: Campaign) -> None:
    """A removed step's email: finished once nothing of it is left to send (else its queue drains first)."""
    pending = campaign.deliveries.filter(status__in=[Delivery.Status.QUEUED, Delivery.Status.SENDING]).exists()
    if pending or campaign.status != Campaign.Status.SENDING:
        return
    if campaign.deliveries.exists():
        lifecycle.mark_sent(campaign=campaign)
    else:
        lifecycle.cancel(campaign=campaign, actor=None, reason=_("The journey's step was removed."))
