"""The journey admin: the trigger, a plain list of steps (with how many people are at each), pause.

A removed step is safe: the people due to run it move on to the next step
(the form says so beside the delete box, and the page says how many moved).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from journeys import restoring, roles
from journeys.admin.step_forms import StepForm, StepFormSet
from journeys.models import Enrolment, Journey, Step
from journeys.services import setup

ES = Enrolment.State


class StepInline(admin.TabularInline):
    model = Step
    form = StepForm
    formset = StepFormSet
    extra = 0
    fields = [
        "position",
        "kind",
        "email_subject",
        "wait_amount",
        "wait_unit",
        "wait_weekday",
        "wait_time",
        "condition",
        "branch_to",
        "mailing_list",
    ]
    ordering = ["position", "id"]
    verbose_name_plural = gettext_lazy("Steps, in order (people at a removed step move on to the next one)")

    def get_formset(self, request: HttpRequest, obj: Journey | None = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        formset.request = request  # type: ignore[attr-defined]
        branch = formset.form.base_fields["branch_to"]
        branch.queryset = Step.objects.filter(journey=obj) if obj else Step.objects.none()  # type: ignore[attr-defined]
        return formset


class JourneyForm(forms.ModelForm):
    class Meta:
        model = Journey
        fields = ["name", "trigger", "trigger_list", "trigger_action", "inactive_days", "status", "exit_on_donation"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        errors = setup.check_trigger(
            trigger=data.get("trigger", ""),
            trigger_list=data.get("trigger_list"),
            trigger_action=data.get("trigger_action"),
            inactive_days=data.get("inactive_days"),
        )
        field_of = {"trigger.list": "trigger_list", "trigger.action": "trigger_action", "trigger.days": "inactive_days"}
        for key, problems in errors.items():
            for problem in problems:
                self.add_error(field_of[key], problem)
        return data


@admin.register(Journey)
class JourneyAdmin(admin.ModelAdmin):
    titles = {
        "add": gettext_lazy("Add a journey"),
        "change": gettext_lazy("Edit journey"),
        "view": gettext_lazy("View journey"),
    }
    form = JourneyForm
    inlines = [StepInline]
    list_display = ["name", "trigger_text", "status", "step_count", "in_journey", "entered"]
    list_filter = ["status", "trigger"]
    search_fields = ["name"]
    actions = ["pause", "resume"]
    readonly_fields = ["counts", "overview", "status_shown"]
    fieldsets = [
        (None, {"fields": ["name", "status", "counts"]}),
        (gettext_lazy("Steps at a glance"), {"fields": ["overview"]}),
        (
            gettext_lazy("Who enters"),
            {
                "fields": ["trigger", "trigger_list", "trigger_action", "inactive_days"],
                "description": gettext_lazy(
                    "Only people whose trigger happens from now on enter: nobody already on the list. "
                    "A person enters a journey once. Paused: people still enter and wait at their step; "
                    "nothing is sent until the journey is active again."
                ),
            },
        ),
        (
            gettext_lazy("Who leaves"),
            {
                "fields": ["exit_on_donation"],
                "description": gettext_lazy(
                    "Unsubscribing from everything, or from the journey's list, always leaves the journey at once."
                ),
            },
        ),
    ]

    # --- who may do what (journeys/roles.py): writers draft, senders start and pause ----------

    def has_activate_permission(self, request: HttpRequest) -> bool:
        return roles.can_activate(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Journey | None = None) -> bool:
        """A running journey is changed only by who may pause it: an edit there reaches people at once."""
        if not super().has_change_permission(request, obj):
            return False
        return obj is None or not obj.active or self.has_activate_permission(request)

    def get_fieldsets(self, request: HttpRequest, obj: Journey | None = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if self.has_activate_permission(request):
            return fieldsets
        shown: list[tuple[Any, dict[str, Any]]] = []
        for name, options in fieldsets:
            fields = ["status_shown" if field == "status" else field for field in options.get("fields", [])]
            shown.append((name, {**options, "fields": fields}))
        return shown

    @admin.display(description=gettext_lazy("status"))
    def status_shown(self, journey: Journey) -> str:
        if journey.pk is None:
            return _("Paused: a sender starts it once it is ready.")
        return str(journey.get_status_display())

    def save_model(self, request: HttpRequest, obj: Journey, form: Any, change: bool) -> None:
        if not change and not self.has_activate_permission(request):
            obj.status = Journey.Status.PAUSED  # a writer's journey is a draft until a sender starts it
        if change and "status" in form.changed_data:
            # The same pause or resume as the list's actions: audited, and resuming resumes its emails.
            wanted, obj.status = obj.status, form.initial["status"]
            super().save_model(request, obj, form, change)
            setup.set_status(journey=obj, active=wanted == Journey.Status.ACTIVE, actor=request.user)
            return
        super().save_model(request, obj, form, change)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Journey]:
        return (
            super()
            .get_queryset(request)
            .select_related("trigger_list", "trigger_action")
            .annotate(
                n_steps=Count("steps", distinct=True),
                n_entered=Count("enrolments", distinct=True),
                n_active=Count("enrolments", filter=Q(enrolments__state=ES.ACTIVE), distinct=True),
            )
        )

    @admin.display(description=gettext_lazy("trigger"))
    def trigger_text(self, journey: Journey) -> str:
        detail = journey.trigger_list or journey.trigger_action or ""
        if journey.trigger == Journey.Trigger.INACTIVE:
            detail = _("%(days)s days") % {"days": journey.inactive_days}
        label = journey.get_trigger_display()
        return f"{label}: {detail}" if detail else label

    @admin.display(description=gettext_lazy("steps"), ordering="n_steps")
    def step_count(self, journey: Journey) -> int:
        return getattr(journey, "n_steps", 0)

    @admin.display(description=gettext_lazy("in the journey now"), ordering="n_active")
    def in_journey(self, journey: Journey) -> int:
        return getattr(journey, "n_active", 0)

    @admin.display(description=gettext_lazy("entered"), ordering="n_entered")
    def entered(self, journey: Journey) -> int:
        return getattr(journey, "n_entered", 0)

    @admin.display(description=gettext_lazy("people"))
    def counts(self, journey: Journey) -> str:
        if journey.pk is None:
            return "—"
        found = setup.journey_counts(journey)
        return format_html(
            "{}: <strong>{}</strong> · {}: <strong>{}</strong> · {}: <strong>{}</strong> · {}: <strong>{}</strong>",
            _("entered"),
            found["entered"],
            _("in the journey"),
            found["active"],
            _("completed"),
            found["completed"],
            _("left"),
            found["exited"],
        )

    @admin.display(description=gettext_lazy("steps"))
    def overview(self, journey: Journey) -> str:
        """Each step in a sentence, the people due to run it, and its email's pages."""
        if journey.pk is None:
            return "—"
        at_step = setup.people_at_steps(journey)
        steps = journey.steps.select_related("campaign", "branch_to", "mailing_list").order_by("position", "id")
        rows = [
            (step.pk, step.position, step.summary(), at_step.get(step.pk, 0), self._email_links(step)) for step in steps
        ]
        if not rows:
            return _("No steps yet: add them below.")
        header = format_html(
            "<tr><th>#</th><th>{}</th><th>{}</th><th>{}</th></tr>", _("step"), _("people at this step"), _("email")
        )
        # Each row is a link's target (#step-<id>): an email's preview leads back to its step.
        body = format_html_join("", '<tr id="step-{}"><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>', rows)
        return format_html('<table class="journey-steps">{}{}</table>', header, body)

    @staticmethod
    def _email_links(step: Step) -> str:
        if step.campaign_id is None:
            return ""
        links = [
            (reverse("admin:journeys_journeyemail_change", args=[step.campaign_id]), _("Write")),
            (reverse("admin:journeys_journeyemail_preview", args=[step.campaign_id]), _("Preview")),
            (reverse("campaign_report", args=[step.campaign_id]), _("Report")),
        ]
        return format_html_join(" · ", '<a href="{}">{}</a>', links)

    def change_view(self, request: HttpRequest, object_id: str, *args: Any, **kwargs: Any) -> Any:
        if request.method == "GET" and object_id.isdigit():
            journey = Journey.objects.filter(pk=object_id).first()
            if journey is not None and restoring.paused_by_restore(journey):
                messages.warning(
                    request,
                    _(
                        "Paused when the database was restored from a backup: people due at a step may already "
                        "have passed it after the backup. Resume the journey when you are satisfied (some people "
                        "may get a step's email twice)."
                    ),
                )
        return super().change_view(request, object_id, *args, **kwargs)

    @admin.action(description=gettext_lazy("Pause the selected journeys"), permissions=["activate"])
    def pause(self, request: HttpRequest, queryset: QuerySet[Journey]) -> None:
        for journey in queryset:
            setup.set_status(journey=journey, active=False, actor=request.user)
        self.message_user(request, _("Paused: nobody moves on until you resume."), messages.SUCCESS)

    @admin.action(description=gettext_lazy("Resume the selected journeys"), permissions=["activate"])
    def resume(self, request: HttpRequest, queryset: QuerySet[Journey]) -> None:
        for journey in queryset:
            setup.set_status(journey=journey, active=True, actor=request.user)
        self.message_user(request, _("Resumed: people due move on within a minute."), messages.SUCCESS)

    def delete_model(self, request: HttpRequest, obj: Journey) -> None:
        setup.delete_journey(journey=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Journey]) -> None:
        for journey in queryset:
            setup.delete_journey(journey=journey)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        with transaction.atomic():
            super().save_related(request, form, formsets, change)
            setup.sync_lists(form.instance)
        for formset in formsets:
            moved = getattr(formset, "moved", None)
            if moved:
                self.message_user(
                    request,
                    ngettext(
                        "%(n)d person at a removed step moved on to the next step.",
                        "%(n)d people at removed steps moved on to the next step.",
                        moved,
                    )
                    % {"n": moved},
                    messages.INFO,
                )
