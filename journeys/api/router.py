"""/api/v1/journeys: create, list, pause and resume journeys, and read how many people are in them.

A ninja Router that ``JourneysConfig.ready()`` adds to campaigns' API
(``campaigns.api.app.register_router``): a bearer token, 401/403, and
``{"errors": {field: [message, …]}}`` with 400 for bad input.
"""

from __future__ import annotations

from datetime import time
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Status
from ninja.errors import HttpError

from actions.models import Action
from campaigns.api.app import Invalid
from campaigns.api.auth import BearerToken, token_user
from campaigns.api.schemas import ERRORS, ErrorOut
from journeys.api.schemas import JourneyCreated, JourneyInput, JourneyOut, JourneyStatusInput, StepInput, WaitInput
from journeys.models import Enrolment, Journey, Step
from journeys.roles import ACTIVATE_PERMISSION, can_activate
from journeys.services.setup import (
    EmailContent,
    InvalidJourney,
    StepSpec,
    counts_by_journey,
    create_journey,
    journey_counts,
    set_status,
)
from subscribers.models import MailingList

router = Router(tags=["journeys"])
ES = Enrolment.State
_WEEKDAYS = {weekday.name.lower(): weekday.value for weekday in Step.Weekday}


def journey_json(journey: Journey, counts: dict[str, int] | None = None) -> dict[str, Any]:
    counts = journey_counts(journey) if counts is None else counts
    return {"id": journey.pk, "name": journey.name, "active": journey.active, "counts": counts}


_NOBODY = {"entered": 0, "active": 0, "completed": 0, "exited": 0}


def _wait(wait: WaitInput, where: str, errors: dict[str, list[str]]) -> StepSpec:
    amounts = [(unit, value) for unit, value in (("minutes", wait.minutes), ("hours", wait.hours), ("days", wait.days))]
    given = [(unit, value) for unit, value in amounts if value is not None]
    if (wait.weekday is None) != (wait.time is None):
        errors[where] = [_("Give a weekday and a time together.")]
    elif wait.weekday is not None and wait.time is not None and not given:
        hour, minute = (int(part) for part in wait.time.split(":"))
        return StepSpec(kind=Step.Kind.WAIT, wait_weekday=_WEEKDAYS[wait.weekday], wait_time=time(hour, minute))
    elif len(given) != 1:
        errors[where] = [_("Give one of minutes, hours or days, or a weekday and a time.")]
    else:
        unit, value = given[0]
        return StepSpec(kind=Step.Kind.WAIT, wait_amount=value, wait_unit=unit)
    return StepSpec(kind=Step.Kind.WAIT)


def _list(slug: str, where: str, errors: dict[str, list[str]]) -> MailingList | None:
    found = MailingList.objects.filter(slug=slug).first()
    if found is None:
        errors[where] = [_("Unknown list: %(slugs)s") % {"slugs": slug}]
    return found


def _step(index: int, payload: StepInput, errors: dict[str, list[str]]) -> StepSpec:
    where = f"steps.{index}"
    names = ("email", "wait", "branch", "add_to_list", "remove_from_list", "end")
    kinds = [name for name in names if getattr(payload, name) is not None]
    if len(kinds) != 1:
        errors[where] = [_("Each step is one of: email, wait, if, add_to_list, remove_from_list, end.")]
        return StepSpec(kind=Step.Kind.WAIT)
    if payload.end is not None:
        return StepSpec(kind=Step.Kind.END)
    if payload.email is not None:
        email = payload.email
        translations = email.translations.model_dump(exclude_none=True) if email.translations else {}
        content = EmailContent(
            subject=email.subject,
            body_markdown=email.body_markdown,
            language=email.language or "",
            translations=translations,
        )
        return StepSpec(kind=Step.Kind.EMAIL, email=content)
    if payload.wait is not None:
        return _wait(payload.wait, where, errors)
    if payload.branch is not None:
        return StepSpec(kind=Step.Kind.CONDITION, condition=payload.branch.condition, go_to=payload.branch.go_to)
    change = payload.add_to_list or payload.remove_from_list
    assert change is not None
    kind = Step.Kind.ADD_TO_LIST if payload.add_to_list else Step.Kind.REMOVE_FROM_LIST
    return StepSpec(kind=kind, mailing_list=_list(change.list, where, errors))


def _trigger(payload: JourneyInput, errors: dict[str, list[str]]) -> dict[str, Any]:
    trigger = payload.trigger
    found: dict[str, Any] = {"trigger": trigger.type, "inactive_days": trigger.days}
    if trigger.list:
        found["trigger_list"] = _list(trigger.list, "trigger.list", errors)
    if trigger.action:
        found["trigger_action"] = Action.objects.filter(slug=trigger.action).first()
        if found["trigger_action"] is None:
            errors["trigger.action"] = [_("No such action.")]
    return found


@router.post("/journeys", response={201: JourneyCreated, **ERRORS}, auth=BearerToken("journeys.add_journey"))
def create(request: HttpRequest, payload: JourneyInput) -> Any:
    """Create a journey. Nobody already on the list enters: only people whose trigger happens from now on.

    Steps run in order: `email` (written like a campaign, with translations), `wait` (`minutes`, `hours`,
    `days`, or until a `weekday` and `time` in the organisation's time zone), `if` (people who `opened`,
    `clicked`, `donated` or `acted` since entering go to step `go_to`, a later one; the others go on),
    `add_to_list`, `remove_from_list`. Unsubscribing from everything or from the journey's list leaves it.
    """
    active = payload.active is not False
    if active and not can_activate(token_user(request)):
        refusal = _('Only a sender starts a journey: a writer creates it paused, with "active" set to false.')
        raise HttpError(403, refusal)
    errors: dict[str, list[str]] = {}
    found = _trigger(payload, errors)
    steps = [_step(index, step, errors) for index, step in enumerate(payload.steps)]
    if errors:
        raise Invalid(errors)
    try:
        journey = create_journey(
            name=payload.name,
            steps=steps,
            active=active,
            exit_on_donation=bool(payload.exit_on_donation),
            actor=token_user(request),
            **found,
        )
    except InvalidJourney as invalid:
        raise Invalid(invalid.errors) from None
    return Status(201, {"id": journey.pk})


@router.get(
    "/journeys/{journey_id}",
    response={200: JourneyOut, 404: ErrorOut, **ERRORS},
    auth=BearerToken("journeys.view_journey"),
)
def read(request: HttpRequest, journey_id: int) -> Any:
    """A journey and how many people entered it, are in it, completed it and left it."""
    journey = Journey.objects.filter(pk=journey_id).first()
    if journey is None:
        raise HttpError(404, _("No such journey."))
    return Status(200, journey_json(journey))


@router.get("/journeys", response={200: list[JourneyOut], **ERRORS}, auth=BearerToken("journeys.view_journey"))
def journeys(request: HttpRequest) -> Any:
    """Every journey, by name, with how many people entered it, are in it, completed it and left it."""
    counts = counts_by_journey()
    return Status(200, [journey_json(j, counts.get(j.pk, _NOBODY)) for j in Journey.objects.order_by("name", "id")])


@router.patch(
    "/journeys/{journey_id}",
    response={200: JourneyOut, 404: ErrorOut, **ERRORS},
    auth=BearerToken(ACTIVATE_PERMISSION),
)
def change(request: HttpRequest, journey_id: int, payload: JourneyStatusInput) -> Any:
    """Pause (`{"active": false}`) or resume (`{"active": true}`) a journey; doing it twice is harmless.

    Paused, nobody moves on: new people still enter and wait at their step. Resumed, everyone due moves on
    within a minute. Only `active` can be changed here (senders and admins).
    """
    journey = Journey.objects.filter(pk=journey_id).first()
    if journey is None:
        raise HttpError(404, _("No such journey."))
    return Status(200, journey_json(set_status(journey=journey, active=payload.active, actor=token_user(request))))
