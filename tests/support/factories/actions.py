"""Fictional districts, targets and actions for the actions tests."""

from __future__ import annotations

from typing import Any

from actions.models import Action, District, PostalPrefix, Target, TargetGroup
from subscribers.models import MailingList


def district(code: str, name: str = "", *prefixes: str, province: str = "ON") -> District:
    made, _ = District.objects.get_or_create(code=code, defaults={"name": name or code, "province": province})
    for prefix in prefixes:
        PostalPrefix.objects.get_or_create(prefix=prefix, district=made)
    return made


def group(slug: str = "mps") -> TargetGroup:
    return TargetGroup.objects.get_or_create(slug=slug, defaults={"name": slug.upper()})[0]


def target(
    name: str, email: str, *, in_district: District | None = None, groups: tuple[str, ...] = ("mps",), **fields: Any
) -> Target:
    made = Target.objects.create(name=name, email=email, district=in_district, **fields)
    made.groups.set([group(slug) for slug in groups])
    return made


def petition(slug: str = "stop-the-mine", **fields: Any) -> Action:
    values: dict[str, Any] = {
        "kind": Action.Kind.PETITION,
        "title": "Stop the open-pit mine at Laguna Azul",
        "body_markdown": "The **community** of Laguna Azul said no.",
        "status": Action.Status.OPEN,
        "goal": 1000,
        **fields,
    }
    return Action.objects.create(slug=slug, **values)


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
        **fields,
    }
    action = Action.objects.create(slug=slug, **values)
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
