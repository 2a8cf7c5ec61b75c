"""The demo targets, districts and actions ``manage.py seed_demo`` loads.

Everything here is invented: the districts are not real ridings (their
codes start with 99 and their names say "demo"), the decision-makers do not
exist and their addresses are on example.org. Real target data (MPs,
ridings, postal prefixes) is imported by staff with ``import_targets`` and
``import_districts``; none ships with Tocsin.

Idempotent: only what is missing is added; nothing staff edited is overwritten.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from django.utils import timezone

from actions import demo_content
from actions.models import Action, District, PostalPrefix, Signature, Target, TargetGroup
from subscribers.models import MailingList, Subscriber

# Each group's name, and in Spanish and French (the letter page names the group in the reader's language).
GROUPS: dict[str, dict[str, Any]] = {
    "mps": {
        "name": "Members of Parliament (demo)",
        "translations": {"es": {"name": "Diputados (demo)"}, "fr": {"name": "Députés (démo)"}},
    },
    "ministers": {
        "name": "Ministers (demo)",
        "translations": {"es": {"name": "Ministros (demo)"}, "fr": {"name": "Ministres (démo)"}},
    },
}

# code, name, province, postal prefixes. K2B is split between two districts,
# so the demo shows the "choose your district" step.
DISTRICTS = [
    ("99001", "Rideau Falls (demo)", "ON", ["K1A", "K1P"]),
    ("99002", "Britannia Bay (demo)", "ON", ["K2B"]),
    ("99003", "Carling Heights (demo)", "ON", ["K2B", "K1Z"]),
    ("99004", "Harbourfront (demo)", "ON", ["M5V", "M5J"]),
    ("99005", "Plateau-Fleuve (démo)", "QC", ["H2X", "H2W"]),
    ("99006", "False Creek (demo)", "BC", ["V6B"]),
]

# A member's title is in their own language, as their office writes it (and
# as letters to them and the action page show it); "(demo)" in every one.
MP_TITLE = "Member of Parliament (demo)"
DEPUTEE_TITLE = "Députée (démo)"
TARGETS: list[dict[str, Any]] = [
    {"name": "Margaret Ellison", "district": "99001", "party": "Demo Party A", "language": "en", "title": MP_TITLE},
    {"name": "Daniel Okoro", "district": "99002", "party": "Demo Party B", "language": "en", "title": MP_TITLE},
    {
        "name": "Sophie Gagnon-Reyes",
        "district": "99003",
        "party": "Demo Party A",
        "language": "fr",
        "title": DEPUTEE_TITLE,
    },
    {"name": "Harjit Sandhu", "district": "99004", "party": "Demo Party C", "language": "en", "title": MP_TITLE},
    {
        "name": "Élise Charbonneau",
        "district": "99005",
        "party": "Demo Party B",
        "language": "fr",
        "title": DEPUTEE_TITLE,
    },
    {"name": "Tom Whitecloud", "district": "99006", "party": "Demo Party C", "language": "en", "title": MP_TITLE},
]
MINISTERS: list[dict[str, Any]] = [
    {
        "name": "Rosalind Baptiste",
        "email": "minister.trade@demo-government.example.org",
        "title": "Minister of International Trade (demo)",
    },
    {
        "name": "Office of the Ombudsperson for Responsible Enterprise (demo)",
        "email": "ombudsperson@demo-government.example.org",
        "title": "Ombudsperson (demo)",
        # Shows a target that takes no email: letters are collected for staff to deliver by hand.
        "do_not_email": True,
    },
]

LETTER_ACTION = {
    "slug": "demo-mining-accountability-letter",
    "kind": Action.Kind.LETTER,
    "title": "Tell your MP: Canadian mining companies must answer for harm abroad",
    "body_markdown": (
        "Communities in Peru, Guatemala and Honduras keep meeting the same story: a Canadian-listed "
        "mining company, a concession granted without consultation, and a river that no longer runs clean. "
        "When people protest, they face criminal charges; when they turn to Canada, there is no one with "
        "the power to compel a company to answer.\n\n"
        "**Write to your Member of Parliament** and ask them to support a law that makes Canadian "
        "companies respect human rights abroad, with an independent ombudsperson who can investigate."
    ),
    "letter_subject": "Please support binding human-rights rules for Canadian mining companies abroad",
    "letter_body": (
        "As your constituent, I am writing about Canadian mining companies operating in Latin America.\n\n"
        "Communities affected by these projects report contaminated water, evictions and the prosecution "
        "of people who defend their land. Voluntary guidelines have not changed this.\n\n"
        "I ask you to support legislation that requires Canadian companies to prevent human-rights harm "
        "in their operations abroad, and that gives an independent ombudsperson the power to investigate "
        "and compel documents.\n\n"
        "Thank you for your attention. I look forward to your reply."
    ),
    "edit_policy": Action.EditPolicy.PARAGRAPH,
    "edit_limit": 1200,
    "by_district": True,
    "goal": 500,
    "lists": ["canada-policy"],
}

PETITION_ACTION = {
    "slug": "demo-free-the-water-defenders",
    "kind": Action.Kind.PETITION,
    "title": "Free the water defenders of the Upper Valley",
    "body_markdown": (
        "Five members of an Indigenous community council in the Upper Valley have been held for four "
        'months on charges of "aggravated usurpation" after a peaceful blockade against a mine\'s water '
        "diversion. Their families have not been allowed to visit.\n\n"
        "We call on the public prosecutor to **drop the charges and release them**, and on the "
        "authorities to consult the community before any further permit is granted."
    ),
    "goal": 2000,
    "lists": ["guatemala", "urgent-actions"],
}


def _email(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name.lower()).encode("ascii", "ignore").decode()
    return ".".join(ascii_name.split()) + "@demo-parliament.example.org"


def _action(data: dict[str, Any], *, author: Any) -> tuple[Action, bool]:
    values = {key: value for key, value in data.items() if key not in {"slug", "lists"}}
    now = timezone.now()
    action, created = Action.objects.get_or_create(
        slug=data["slug"],
        defaults={**values, "status": Action.Status.OPEN, "opened_at": now, "created_by": author},
    )
    if created:
        action.lists.set(MailingList.objects.filter(slug__in=data.get("lists", [])))
    return action, created


def _members(group: TargetGroup, districts: dict[str, District]) -> int:
    """The demo members of parliament, one per district; how many were new."""
    new = 0
    for data in TARGETS:
        district = districts[data["district"]]
        target, created = Target.objects.get_or_create(
            email=_email(data["name"]),
            defaults={
                "name": data["name"],
                "title": data["title"],
                "district": district,
                "province": district.province,
                "party": data["party"],
                "language": data["language"],
            },
        )
        if created:
            target.groups.add(group)
            new += 1
        elif target.title == MP_TITLE != data["title"]:
            # Earlier demos titled every member in English: ours to correct, unlike a title staff wrote.
            target.title = data["title"]
            target.save(update_fields=["title"])
    return new


def _groups() -> dict[str, TargetGroup]:
    groups = {}
    for slug, values in GROUPS.items():
        group, created = TargetGroup.objects.get_or_create(slug=slug, defaults=values)
        if not created and not group.translations and group.name == values["name"]:
            # Earlier demos named their groups in English only: ours to complete, unlike a name staff wrote.
            group.translations = values["translations"]
            group.save(update_fields=["translations"])
        groups[slug] = group
    return groups


def seed(*, author: Any = None, **options: Any) -> str:
    groups = _groups()
    districts: dict[str, District] = {}
    for code, name, province, prefixes in DISTRICTS:
        district, _created = District.objects.get_or_create(code=code, defaults={"name": name, "province": province})
        districts[code] = district
        for prefix in prefixes:
            PostalPrefix.objects.get_or_create(prefix=prefix, district=district)
    new_targets = _members(groups["mps"], districts)
    ministers = []
    for data in MINISTERS:
        target, created = Target.objects.get_or_create(email=data["email"], defaults=data)
        if created:
            target.groups.add(groups["ministers"])
            new_targets += 1
        ministers.append(target)

    letter, letter_created = _action({**LETTER_ACTION, "target_group": groups["mps"]}, author=author)
    if letter_created:
        letter.targets.set(ministers)
    demo_content.translate(letter, demo_content.LETTER_TRANSLATIONS)
    alert_created = demo_content.alert_linking_to(letter, author=author)
    petition, petition_created = _action(PETITION_ACTION, author=author)
    demo_content.translate(petition, demo_content.PETITION_TRANSLATIONS)
    if petition_created:
        # A few of the demo supporters signed, so the counter shows something.
        for person in Subscriber.objects.filter(email__endswith="@example.org").order_by("pk")[:4]:
            Signature.objects.get_or_create(
                action=petition,
                email=person.email,
                defaults={"name": person.name or person.email.split("@")[0], "subscriber": person},
            )
    return (
        f"Demo actions: {int(letter_created) + int(petition_created)} new action(s), "
        f"{new_targets} new target(s), {len(districts)} demo districts"
        + (", and a draft alert that links to the letter." if alert_created else ".")
    )
