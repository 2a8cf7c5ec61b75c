"""What /api/v1/journeys reads and answers; merged into the API's OpenAPI document with the router."""

from __future__ import annotations

from typing import Annotated

from ninja import Schema
from pydantic import ConfigDict, Field

from campaigns.api.fields import Flag, Language, OneOf, Slug, Text, WholeNumber
from campaigns.api.schemas import TranslationsInput
from journeys.models import Journey, Step

MAX_MARKDOWN = 100_000
MINUTES_IN_A_YEAR = 525_600


class Input(Schema):
    model_config = ConfigDict(extra="forbid")


class TriggerInput(Input):
    type: Annotated[str, OneOf(Journey.Trigger.values)] = Field(
        description="joined_list: a subscription to `list` becomes confirmed (sign-up confirmation or the API, "
        "never a CSV import); donated: a gift is recorded; acted: someone signs `action`; "
        "inactive: no open or click in `days` days."
    )
    list: Slug | None = None
    action: Annotated[str, Text(100)] | None = Field(default=None, description="The action's slug.")
    days: Annotated[int, WholeNumber(1, 3650)] | None = None


class EmailInput(Input):
    subject: Annotated[str, Text(200, required=True)]
    body_markdown: Annotated[str, Text(MAX_MARKDOWN, single_line=False, required=True)]
    language: Language | None = None
    translations: TranslationsInput | None = None


class WaitInput(Input):
    minutes: Annotated[int, WholeNumber(1, MINUTES_IN_A_YEAR)] | None = None
    hours: Annotated[int, WholeNumber(1, 8760)] | None = None
    days: Annotated[int, WholeNumber(1, 365)] | None = None
    weekday: Annotated[str, OneOf([w.name.lower() for w in Step.Weekday])] | None = Field(
        default=None, description="Until this weekday at `time`, in the organisation's time zone."
    )
    time: Annotated[str, Text(5, pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")] | None = Field(
        default=None, description="HH:MM, with `weekday`."
    )


class ConditionInput(Input):
    condition: Annotated[str, OneOf(Step.Condition.values)]
    go_to: Annotated[int, WholeNumber(1, 100)] = Field(
        description="The step (1 = the first) that people who meet the condition go to; the others go on."
    )


class ListChangeInput(Input):
    list: Slug


class EndInput(Input):
    pass


class StepInput(Input):
    email: EmailInput | None = None
    wait: WaitInput | None = None
    branch: ConditionInput | None = Field(default=None, alias="if")
    add_to_list: ListChangeInput | None = None
    remove_from_list: ListChangeInput | None = None
    end: EndInput | None = Field(default=None, description="{}: the journey ends here (after a branch's emails).")


class JourneyInput(Input):
    name: Annotated[str, Text(200, required=True)]
    trigger: TriggerInput
    steps: list[StepInput] = Field(min_length=1, max_length=100)
    active: Flag | None = Field(default=None, description="Default true; false creates it paused.")
    exit_on_donation: Flag | None = Field(default=None, description="A gift ends the journey for the giver.")


class JourneyStatusInput(Input):
    active: Flag = Field(description="false pauses the journey, true resumes it.")


class JourneyCreated(Schema):
    id: int


class JourneyCounts(Schema):
    entered: int
    active: int
    completed: int
    exited: int


class JourneyOut(Schema):
    id: int
    name: str
    active: bool
    counts: JourneyCounts
