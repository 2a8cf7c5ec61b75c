"""Journeys and their steps for the journeys tests (tests/journeys, tests/e2e)."""

from __future__ import annotations

from typing import Any

from journeys.models import Journey, Step
from journeys.services.setup import EmailContent, StepSpec, create_journey
from subscribers.models import MailingList


def email(subject: str, body: str = "Hello {{ name }}, welcome.", **kw: Any) -> StepSpec:
    return StepSpec(kind=Step.Kind.EMAIL, email=EmailContent(subject=subject, body_markdown=body, **kw))


def wait(amount: int, unit: str = "days") -> StepSpec:
    return StepSpec(kind=Step.Kind.WAIT, wait_amount=amount, wait_unit=unit)


def welcome_journey(mailing_list: MailingList, *steps: StepSpec, **kw: Any) -> Journey:
    return create_journey(
        name=kw.pop("name", "Welcome"),
        trigger=Journey.Trigger.JOINED_LIST,
        trigger_list=mailing_list,
        steps=list(steps) or [email("Welcome"), wait(3), email("Second")],
        **kw,
    )


def steps_of(journey: Journey) -> list[Step]:
    return list(journey.steps.order_by("position"))
