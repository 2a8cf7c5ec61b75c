"""The merge-field syntax, defined once.

The renderer (``campaigns.sending.rendering``) fills what ``FIELD`` matches when
``parse`` knows it; the pre-send check (``campaigns.lifecycle.content_problems``) refuses
everything else that looks like a tag, and admin titles show fields
readably. All three read the expressions below, so they cannot disagree about
what a merge field is.

Known fields: ``{{ name }}`` and ``{{ first_name }}`` (``subscriber.`` may
stand before either), each with an optional ``|default:"…"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.translation import gettext as _

# No brace inside: "{{ name }" followed later by a good "{{ name }}" must not
# swallow the text between them as one (unknown) field.
FIELD = re.compile(r"\{\{([^{}]*)\}\}")
NAME_FIELD = re.compile(
    r"""^\s*(?:subscriber\.)?(?P<field>name|first_name)\s*"""
    r"""(?:\|\s*default\s*:\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'))?\s*$"""
)
# What still looks like template code once the well-formed fields are taken
# out: stray double braces (a brace missing), Django/Jinja tags and comments,
# Mailchimp's *|FNAME|*, and single-brace placeholders such as {FNAME}.
_TAG_LIKE = re.compile(
    r"\{%.{0,200}?%\}"
    r"|\{#.{0,200}?#\}"
    r"|\*\|[^|\s]{1,40}\|\*"
    r"|\{\{\s*[^{}\s]{0,40}\s*\}?"
    r"|\{\s*[A-Za-z_][\w.]{0,40}\s*(?:\|[^{}\n]{0,80})?\}(?!\})"
    r"|\}\}|\{%|%\}|\{#|#\}"
)
# A stray "}}" is shown with the word before it ("{ name }}"), looked for
# only behind each match: a pattern that looked back from every character
# of a 1 MB text took most of a second.
_BEFORE_CLOSE = re.compile(r"\{?\s*[^{}\s]{0,40}\s*\}\}$")


@dataclass(frozen=True)
class NameField:
    first_only: bool
    default: str | None


def parse(inner: str) -> NameField | None:
    """The field between ``{{`` and ``}}``, or None when Tocsin does not know it."""
    match = NAME_FIELD.match(inner)
    if match is None:
        return None
    default = match.group("dq") if match.group("dq") is not None else match.group("sq")
    return NameField(first_only=match.group("field") == "first_name", default=default)


def problems(text: str, *, fields_allowed: bool = True) -> list[str]:
    """Each tag in ``text`` that would reach readers wrong: unknown, malformed, or from another tool.

    ``fields_allowed=False`` is for text the renderer does not personalise
    (a button's text): there even a well-formed field would show as typed.
    """
    found: list[str] = []
    if not text:
        return found

    def take(match: re.Match[str]) -> str:
        start, end = match.span()
        if not fields_allowed or parse(match.group(1)) is None:
            found.append(match.group(0))
        elif text[start - 1 : start] == "{" or text[end : end + 1] == "}":
            # "{{{ name }}}": the field is filled in, and readers see braces around the name.
            found.append(text[max(start - 1, 0) : end + 1])
        return " "

    rest = FIELD.sub(take, text)
    for match in _TAG_LIKE.finditer(rest):
        tag = match.group(0)
        if tag == "}}":
            before = _BEFORE_CLOSE.search(rest, max(match.start() - 45, 0), match.end())
            tag = before.group(0) if before else tag
        found.append(tag.strip())
    return list(dict.fromkeys(tag[:100] for tag in found if tag))


def readable(text: str) -> str:
    """``text`` with each known field shown as [name] (for admin lists, titles, reports)."""

    def show(match: re.Match[str]) -> str:
        field = parse(match.group(1))
        if field is None:
            return match.group(0)
        return str(_("[first name]") if field.first_only else _("[name]"))

    return FIELD.sub(show, text or "")


def for_anyone(text: str, fallback: str) -> str:
    """``text`` as a reader without a name would see it (the public archive): each field's default."""

    def fill(match: re.Match[str]) -> str:
        field = parse(match.group(1))
        if field is None:
            return ""
        return field.default if field.default is not None else fallback

    return " ".join(FIELD.sub(fill, text or "").split())
