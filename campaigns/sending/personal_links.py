"""Links in a campaign that become personal for each recipient: a registry higher apps fill.

campaigns knows nothing of what lies above it. An app that wants its own
links made personal (actions: a link to an action page becomes the
recipient's signed link to it) registers a *personaliser* from its
``AppConfig.ready()``. When a language version of a campaign is compiled,
each link is offered to the personalisers once; the first one that claims
it returns a function that builds the link for one subscriber id. The
renderer calls that function per recipient (and only for recipients who
are real subscribers: a preview's sample reader keeps the plain link).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Protocol

from campaigns.sending.slots import SLOT

PersonalUrl = Callable[[int], str]


class Personaliser(Protocol):
    def __call__(self, url: str, *, campaign_id: int | None) -> PersonalUrl | None: ...


_personalisers: list[Personaliser] = []


def register(personaliser: Personaliser) -> None:
    """Called from a higher app's ``ready()``; registering the same function twice is harmless."""
    if personaliser not in _personalisers:
        _personalisers.append(personaliser)


def personal_url(url: str, *, campaign_id: int | None) -> PersonalUrl | None:
    """The function that makes ``url`` personal, or None when no registered app claims it."""
    for personaliser in _personalisers:
        made = personaliser(url, campaign_id=campaign_id)
        if made is not None:
            return made
    return None


# --- used by the compiler (compiling.py) and the renderer (rendering.py) ------------------------


def take_personal(links: dict[str, str], text: str, *, campaign_id: int | None) -> tuple[str, dict[str, PersonalUrl]]:
    """The personal links among a version's ``links``: taken out of click tracking, given slots in ``text`` too.

    A personal link is never wrapped by the click redirect (like the
    unsubscribe link): the recorded URL would carry the person's token, and
    the report's top links would list one row per reader. ``links`` loses
    them; the text part gets the same slot wherever it writes the URL.
    """
    personal: dict[str, PersonalUrl] = {}
    made: dict[str, PersonalUrl | None] = {}
    for slot, url in list(links.items()):
        if url not in made:
            made[url] = personal_url(url, campaign_id=campaign_id)
        build = made[url]
        if build is None:
            continue
        personal[slot] = build
        del links[slot]
        # The text part writes links as "text (url)": the URL, whole, between spaces or brackets.
        text = re.sub(r"(?<![\w/.:-])" + re.escape(url) + r"(?![\w/?#=&.-])", SLOT.format(slot), text)
    return text, personal


def fill(
    personal: dict[str, PersonalUrl], subscriber_id: int, text_values: dict[str, str], html_values: dict[str, str]
) -> None:
    """One recipient's personal links into the text and HTML values (each distinct link built once)."""
    built: dict[int, str] = {}
    for slot, build in personal.items():
        url = built.get(id(build))
        if url is None:
            url = built[id(build)] = build(subscriber_id)
        text_values[slot] = url
        html_values[slot] = html.escape(url)
