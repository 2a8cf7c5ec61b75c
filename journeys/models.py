"""Journeys: a trigger, steps in order, and each person's place as a row.

A person's place in a journey is one ``Enrolment`` row (unique per journey
and person): the step they are due to run and when. Beat finds due rows in
batches (``journeys/engine.py``). An email step is backed by a hidden,
``automated`` Campaign: reaching the step adds the person to that campaign's
delivery ledger (unique per campaign and person, so once per person per step)
and the sending engine does the rest, with its throttle, suppression, privacy
switches, List-Unsubscribe and per-step reports.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from actions.models import Action
from campaigns.models import Campaign
from subscribers.models import MailingList, Subscriber
from subscribers.text import SafeTextValidator

_ONE_LINE = [SafeTextValidator(single_line=True)]


class Journey(models.Model):
    class Trigger(models.TextChoices):
        JOINED_LIST = "joined_list", _("Joined a list (confirmed)")
        DONATED = "donated", _("Gave a donation")
        ACTED = "acted", _("Signed an action")
        INACTIVE = "inactive", _("No open or click in N days")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")

    name = models.CharField(_("name"), max_length=200, validators=_ONE_LINE)
    trigger = models.CharField(_("trigger"), max_length=16, choices=Trigger.choices, default=Trigger.JOINED_LIST)
    trigger_list = models.ForeignKey(
        MailingList,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="journeys",
        verbose_name=_("list"),
        help_text=_("Joined a list: which list. No open or click: only people on this list (empty: everyone)."),
    )
    trigger_action = models.ForeignKey(
        Action,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="journeys",
        verbose_name=_("action"),
        help_text=_("Signed an action: which action."),
    )
    inactive_days = models.PositiveIntegerField(_("days without an open or click"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE)
    exit_on_donation = models.BooleanField(
        _("a donation ends it"),
        default=False,
        help_text=_("For an appeal series: a person who gives leaves the journey at once."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("journey")
        verbose_name_plural = _("journeys")
        ordering = ["name", "id"]
        permissions = [("activate_journey", _("Can start and pause journeys"))]

    def __str__(self) -> str:
        return self.name

    @property
    def active(self) -> bool:
        return self.status == self.Status.ACTIVE


class Step(models.Model):
    class Kind(models.TextChoices):
        EMAIL = "email", _("Send an email")
        WAIT = "wait", _("Wait")
        CONDITION = "condition", _("If… go to a step")
        ADD_TO_LIST = "add_to_list", _("Add to a list")
        REMOVE_FROM_LIST = "remove_from_list", _("Remove from a list")
        END = "end", _("End the journey here")

    class Unit(models.TextChoices):
        MINUTES = "minutes", _("minutes")
        HOURS = "hours", _("hours")
        DAYS = "days", _("days")

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    class Condition(models.TextChoices):
        OPENED = "opened", _("opened an email of this journey")
        CLICKED = "clicked", _("clicked a link in an email of this journey")
        DONATED = "donated", _("gave a donation")
        ACTED = "acted", _("signed an action")

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="steps", verbose_name=_("journey"))
    position = models.PositiveIntegerField(_("position"), default=0)
    kind = models.CharField(_("step"), max_length=20, choices=Kind.choices, default=Kind.EMAIL)
    # Email: the hidden campaign that holds the text, its translations and its ledger.
    campaign = models.OneToOneField(
        Campaign,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="journey_step",
        verbose_name=_("email"),
    )
    # Wait: an amount of time, or until a weekday and time (the organisation's time zone).
    wait_amount = models.PositiveIntegerField(_("wait"), null=True, blank=True)
    wait_unit = models.CharField(_("unit"), max_length=8, choices=Unit.choices, blank=True)
    wait_weekday = models.PositiveSmallIntegerField(_("until weekday"), choices=Weekday.choices, null=True, blank=True)
    wait_time = models.TimeField(_("at"), null=True, blank=True)
    # Condition: when the person did this since entering, go to ``branch_to``; else the next step.
    condition = models.CharField(_("condition"), max_length=16, choices=Condition.choices, blank=True)
    branch_to = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("then go to"),
    )
    mailing_list = models.ForeignKey(
        MailingList, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("list")
    )

    class Meta:
        verbose_name = _("step")
        verbose_name_plural = _("steps")
        ordering = ["journey", "position", "id"]

    def __str__(self) -> str:
        return f"{self.position}. {self.summary()}"

    def summary(self) -> str:
        from journeys.describe import describe_step

        return describe_step(self)


class Enrolment(models.Model):
    """One person's place in one journey: the step they run next, and when."""

    class State(models.TextChoices):
        ACTIVE = "active", _("In the journey")
        COMPLETED = "completed", _("Completed")
        EXITED = "exited", _("Left")

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="enrolments", verbose_name=_("journey"))
    subscriber = models.ForeignKey(
        Subscriber, on_delete=models.CASCADE, related_name="enrolments", verbose_name=_("subscriber")
    )
    step = models.ForeignKey(
        Step, null=True, blank=True, on_delete=models.SET_NULL, related_name="enrolments", verbose_name=_("next step")
    )
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.ACTIVE)
    due_at = models.DateTimeField(_("due at"), null=True, blank=True)
    entered_at = models.DateTimeField(_("entered at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    exit_reason = models.CharField(_("why they left"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("enrolment")
        verbose_name_plural = _("enrolments")
        constraints = [models.UniqueConstraint(fields=["journey", "subscriber"], name="enrolment_once_per_journey")]
        indexes = [
            # Beat's due query reads only the active rows, in due order.
            models.Index(fields=["due_at", "id"], name="enrolment_due", condition=models.Q(state="active")),
            models.Index(fields=["journey", "state", "step"], name="enrolment_journey_state_step"),
        ]

    def __str__(self) -> str:
        return f"{self.journey_id} · {self.subscriber_id} ({self.state})"


class JourneyEmail(Campaign):
    """A journey's email step, edited like a campaign (same fields and translations)."""

    class Meta:
        proxy = True
        verbose_name = _("journey email")
        verbose_name_plural = _("journey emails")
