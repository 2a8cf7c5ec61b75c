"""Fictional districts, targets and actions for the actions tests.

``ActionFactory`` is an open petition, ``TargetFactory`` an MP in the "mps"
group; ``petition()``, ``letter()`` and ``riding_map()`` (three ridings and
their MPs) are the shapes the tests use.
"""

from __future__ import annotations

from typing import Any

import factory
from factory.django import DjangoModelFactory

from actions.models import Action, District, PostalPrefix, Target, TargetGroup
from subscribers.models import MailingList


def district(code: str, name: str = "", *prefixes: str, province: str = "ON") -> District:
    made, _ = District.objects.get_or_create(code=code, defaults={"name": name or code, "province": province})
    for prefix in prefixes:
        PostalPrefix.objects.get_or_create(prefix=prefix, district=made)
    return made


def group(slug: str = "mps") -> TargetGroup:
    return TargetGroup.objects.get_or_create(slug=slug, defaults={"name": slug.upper()})[0]


class TargetFactory(DjangoModelFactory[Target]):
    """Someone a letter goes to; ``groups=("mps",)`` by default (slugs, made if missing)."""

    class Meta:
        model = Target
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Target {n}")
    email = factory.Sequence(lambda n: f"target{n}@parl.example")

    @factory.post_generation
    def groups(self, create: bool, extracted: tuple[str, ...] | None, **kwargs: Any) -> None:
        self.groups.set([group(slug) for slug in (("mps",) if extracted is None else extracted)])


class ActionFactory(DjangoModelFactory[Action]):
    """An open petition."""

    class Meta:
        model = Action

    slug = factory.Sequence(lambda n: f"action-{n}")
    kind = Action.Kind.PETITION
    title = "Stop the open-pit mine at Laguna Azul"
    body_markdown = "The **community** of Laguna Azul said no."
    status = Action.Status.OPEN
    goal = 1000


def target(
    name: str, email: str, *, in_district: District | None = None, groups: tuple[str, ...] = ("mps",), **fields: Any
) -> Target:
    return TargetFactory(name=name, email=email, district=in_district, groups=groups, **fields)


def petition(slug: str = "stop-the-mine", **fields: Any) -> Action:
    return ActionFactory(slug=slug, **fields)


def letter(
    slug: str = "write-your-mp",
    *,
    lists: list[MailingList] | None = None,
    fixed: list[Target] | None = None,
    **fields: Any,
) -> Action:
    values: dict[str, Any] = {
        "kind": Action.Kind.LETTER,
        "title": "Ask your MP to back binding rules for mining companies abroad",
        "body_markdown": "Canadian mining companies operate abroad with little oversight.",
        "status": Action.Status.OPEN,
        "letter_subject": "Binding rules for Canadian mining companies abroad",
        "letter_body": "As your constituent, I ask you to support binding human-rights rules.",
        "edit_policy": Action.EditPolicy.PARAGRAPH,
        "edit_limit": 500,
        "target_group": group("mps"),
        "by_district": True,
        "goal": None,
        **fields,
    }
    action = ActionFactory(slug=slug, **values)
    if lists:
        action.lists.set(lists)
    if fixed:
        action.targets.set(fixed)
    return action


def riding_map() -> dict[str, Any]:
    """Three fictional ridings: K1A in one, K2B split between two, and K2B 9Z9 pinned to the second."""
    north = district("90001", "Rideau North", "K1A")
    east = district("90002", "Rideau East", "K2B")
    west = district("90003", "Rideau West", "K2B", "K2B9Z9")
    return {
        "north": north,
        "east": east,
        "west": west,
        "mp_north": target("Ana Tremblay", "ana.tremblay@parl.example", in_district=north, title="MP"),
        "mp_east": target("Ben Okafor", "ben.okafor@parl.example", in_district=east, title="MP"),
        "mp_west": target("Chloé Roy", "chloe.roy@parl.example", in_district=west, title="MP"),
    }
