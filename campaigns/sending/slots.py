"""Slots: markers in a rendered email where the personal parts go, and the document split at them.

A slot is a word of letters and digits (``SLOT``) that Markdown,
smartypants, nh3, Django's autoescape and css-inline all leave untouched, so
an email can be rendered and CSS-inlined once per language version with a
slot where a reader's name, personal links or tracked links go, then
filled in per reader with one ``join`` (``Template.fill``).
"""

from __future__ import annotations

import html
import re

import css_inline
from django.urls import reverse

from campaigns.events import tracking
from subscribers import tokens
from subscribers.text import squash_spaces

# Letters and digits only: Markdown, smartypants, nh3, Django's autoescape
# and css-inline all leave such a word untouched.
SLOT = "TOCSINSLOT{}Z"
SLOT_RE = re.compile(r"TOCSINSLOT([a-z0-9]+)Z")

INLINER = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)


def one_line(value: str) -> str:
    # Names and subjects go into headers: a newline there is a header injection.
    return squash_spaces(value)


class Template:
    """A rendered document split at its slots: filling it is one ``join``."""

    __slots__ = ("pieces", "slots")

    def __init__(self, rendered: str) -> None:
        self.pieces = SLOT_RE.split(rendered)
        self.slots = self.pieces[1::2]

    def fill(self, values: dict[str, str]) -> str:
        pieces = self.pieces.copy()
        # A slot the values do not name (a staff typo that looks like a marker) comes out empty.
        pieces[1::2] = [values.get(slot, "") for slot in self.slots]
        return "".join(pieces)


_HREF = re.compile(r"""(<a\b[^>]*?\bhref=")([^"]*)(")""", re.IGNORECASE)
_BODY_END = "</body>"


def link_slots(
    document: str, *, keep: set[str], prefix: str = "l", pixel: bool = True
) -> tuple[str, dict[str, str], dict[str, str]]:
    """Turn each trackable link of ``document`` into a slot, and add the open pixel's slot.

    Works on css-inline's output, which always writes attributes double-quoted.
    Personal links (unsubscribe, preferences) are slots already, so they are
    never wrapped: leaving must not depend on the tracker. Nor are the URLs in ``keep``.
    """
    links: dict[str, str] = {}
    untracked: dict[str, str] = {"o": ""} if pixel else {}

    def replace(match: re.Match[str]) -> str:
        url = html.unescape(match.group(2)).strip()
        if url in keep or not tracking.is_redirectable(url):
            return match.group(0)
        slot = f"{prefix}{len(links)}"
        links[slot] = url
        untracked[slot] = match.group(2)
        return match.group(1) + SLOT.format(slot) + match.group(3)

    document = _HREF.sub(replace, document)
    if not pixel:
        return document, links, untracked
    index = document.rfind(_BODY_END)
    marker = SLOT.format("o")
    document = document[:index] + marker + document[index:] if index != -1 else document + marker
    return document, links, untracked


STYLE = re.compile(r"<style[^>]*>(.*?)</style>", re.DOTALL | re.IGNORECASE)


def url_pattern(name: str) -> str:
    """``absolute(reverse(name, args=[token]))`` as a format string with ``{}`` for the token."""
    marker = SLOT.format("token")
    return tokens.absolute(reverse(name, args=[marker])).replace("{", "{{").replace("}", "}}").replace(marker, "{}")


_BLANK_LINES = re.compile(r"\n{3,}")


def tidy_text(text: str) -> str:
    # Template tags leave blank lines behind; one empty line between blocks is enough.
    lines = [line.rstrip() for line in text.strip().split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)) + "\n"
