"""The text Tocsin refuses, wherever it comes from: one set of rules.

Every way text gets in (the JSON API, forms, CSV imports, provider webhooks,
the CLI) checks it here, so the rules cannot drift apart:

- NUL: PostgreSQL refuses it in text columns (a 500 from a DataError).
- Lone surrogates (``"\\ud800"``, which JSON can carry): no UTF-8 encoder takes
  them, so the database driver, the email encoder and even Django's debug page
  crash on them.
- Other C0 and C1 control characters: garbage in the admin, and in a header
  (subject, name, address) a CR or LF is header injection. Multi-line text
  (an email body, a message) keeps tab, CR and LF.

Names shown to other people (the greeting in a confirmation email, a letter's
signature) are held to more (``name_problem``): no bidirectional overrides or
zero-width characters (they disguise what is written) and nothing that looks
like a link (spammers use sign-up forms to mail their URL to a victim).

Addresses (``address_problem``) must be deliverable names on the public
mail system: no IP literals (``a@[127.0.0.1]``, ``a@10.0.0.12``), which
point mail at a host of the sender's choosing, internal ones included.

This module sits in the lowest app so every other app may import it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

# Allowed in multi-line text: \t \n \r. Everything else below 0x20, DEL, the C1
# block, and every surrogate code point (in a Python str a surrogate is always
# a lone one: a valid pair is decoded into one code point).
_SURROGATES = r"\ud800-\udfff"
_NEVER_CLASS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f" + _SURROGATES
# Single-line text also refuses line breaks of every kind.
_LINE_CLASS = r"\x00-\x1f\x7f-\x9f\u2028\u2029" + _SURROGATES
_NEVER = re.compile(f"[{_NEVER_CLASS}]")
_NOT_IN_A_LINE = re.compile(f"[{_LINE_CLASS}]")
# HTTP header values arrive as bytes decoded as Latin-1, so UTF-8 text in them
# shows up as C1 characters: only C0 controls and DEL are wrong there (the
# same set gunicorn refuses, for servers that do not).
_NOT_IN_A_HEADER = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# Bidirectional embeddings, overrides and isolates (U+202A-U+202E,
# U+2066-U+2069) reorder what the reader sees ("Trojan Source"); zero-width
# characters hide text inside text.
_DISGUISE = re.compile(r"[\u202a-\u202e\u2066-\u2069\u200b-\u200f\u2060-\u2064\ufeff\u00ad\u180e]")
# Anything a mail client or a person would read as a link or a domain:
# a scheme, "www.", or a dotted name ending in a letters-only label of two or
# more ("evil.example/claim", "bit.ly", "EVIL.COM"). "Dr. Ana" and "J.R.R."
# do not match: after the dot comes a space or a one-letter label. The
# lookbehinds let a match start only where a word starts, so a long run of
# letters is scanned once, not once per position (no quadratic backtracking).
_LINKISH = re.compile(
    r"(?:(?<![a-z0-9+.-])[a-z][a-z0-9+.-]*:/{1,3})"  # scheme://
    r"|(?:\bwww\.)"
    r"|(?:<\s*[a-z!/?])"  # markup
    r"|(?:(?<![\w-])[\w-]+\.[^\W\d_]{2,}(?:[/:?#]|\b))",
    re.IGNORECASE,
)


class UnsafeText(ValueError):
    """Text no field may hold; ``message`` says why, for the person who sent it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def text_problem(value: str, *, single_line: bool = False) -> str | None:
    """Why ``value`` may not be stored, or None when it may."""
    match = (_NOT_IN_A_LINE if single_line else _NEVER).search(value)
    if match is None:
        return None
    char = match.group()
    if "\ud800" <= char <= "\udfff":
        return str(_("Contains an invalid character (a lone UTF-16 surrogate)."))
    if char == "\x00":
        return str(_("Must not contain NUL characters."))
    if single_line:
        return str(_("Must be a single line without control characters."))
    return str(_("Must not contain control characters (only tabs and line breaks are allowed)."))


def clean_text(value: str, *, single_line: bool = False) -> str:
    """``value`` without the characters ``text_problem`` refuses.

    For text from a sender that cannot be asked to fix it (a provider's
    webhook: refusing would lose the whole event), where the rest of the text
    is still worth keeping. Line breaks in single-line text become spaces, so
    words do not run together.
    """
    pattern = _NOT_IN_A_LINE if single_line else _NEVER
    return pattern.sub(lambda match: " " if match.group().isspace() else "", value)


def has_control_characters(value: str) -> bool:
    """A line break, NUL, other control character or lone surrogate: not for a one-line field."""
    return _NOT_IN_A_LINE.search(value) is not None


def schema_pattern(*, single_line: bool = False, required: bool = False) -> str:
    """The JSON Schema ``pattern`` matching exactly the text ``text_problem`` accepts.

    The escapes mean the same in ECMA-262 (JSON Schema's dialect) and in
    Python, so the OpenAPI document and the fuzzer read it alike. With
    ``required``, one character must be something other than white space,
    as the API's "may not be blank" check asks.
    """
    # Without the surrogate range: a JSON Schema string is Unicode scalar
    # values, which a lone surrogate is not, and validators built on such
    # regex engines (Rust's) reject a pattern that names them.
    refused = (_LINE_CLASS if single_line else _NEVER_CLASS).replace(_SURROGATES, "")
    if not required:
        return f"^[^{refused}]*$"
    return f"^[^{refused}]*[^\\s{refused}][^{refused}]*$"


def header_problem(value: str) -> str | None:
    """Why an HTTP header value (Latin-1 decoded, as WSGI hands it over) is refused, or None."""
    if _NOT_IN_A_HEADER.search(value) is None:
        return None
    if "\x00" in value:
        return str(_("Must not contain NUL characters."))
    return str(_("Must be a single line without control characters."))


def check_text(value: str, *, single_line: bool = False) -> str:
    """``value`` unchanged, or UnsafeText."""
    problem = text_problem(value, single_line=single_line)
    if problem:
        raise UnsafeText(problem)
    return value


def name_problem(value: str) -> str | None:
    """Why ``value`` is not acceptable as a person's name, or None."""
    problem = text_problem(value, single_line=True)
    if problem:
        return problem
    if _DISGUISE.search(value):
        return str(_("A name cannot contain invisible or text-direction control characters."))
    if _LINKISH.search(value):
        return str(_("Please write your name as plain text, without HTML, links or web addresses."))
    return None


def address_problem(value: str) -> str | None:
    """Why ``value`` (already normalised: stripped, lower case) is not an address we mail, or None."""
    problem = text_problem(value, single_line=True)
    if problem:
        return problem
    try:
        validate_email(value)
    except ValidationError:
        return str(_("Enter a valid email address."))
    domain = value.rpartition("@")[2]
    # Django accepts "[127.0.0.1]" and a dotted quad whose last label is
    # digits ("10.0.0.12" looks like a two-letter TLD to its pattern): no
    # real top-level domain is numeric.
    if domain.startswith("[") or domain.rpartition(".")[2].isdigit():
        return str(_("An email address needs a domain name, not an IP address."))
    return None


def unsafe_text_in(data: Any, *, path: str = "") -> Iterator[tuple[str, str]]:
    """Every (path, problem) of multi-line-unsafe text in a decoded JSON value, keys included."""
    if isinstance(data, str):
        problem = text_problem(data)
        if problem:
            yield path or "body", problem
    elif isinstance(data, dict):
        for key, value in data.items():
            key_path = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and text_problem(key):
                yield (path or "body"), str(_("A field name contains an invalid character."))
                continue
            yield from unsafe_text_in(value, path=key_path)
    elif isinstance(data, list):
        for index, item in enumerate(data):
            yield from unsafe_text_in(item, path=f"{path}[{index}]" if path else f"[{index}]")


@deconstructible
class SafeTextValidator:
    """Django validator form of ``text_problem`` (for model and form fields)."""

    def __init__(self, *, single_line: bool = False) -> None:
        self.single_line = single_line

    def __call__(self, value: Any) -> None:
        if isinstance(value, str):
            problem = text_problem(value, single_line=self.single_line)
            if problem:
                raise ValidationError(problem, code="unsafe_text")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SafeTextValidator) and other.single_line == self.single_line

    def __hash__(self) -> int:
        return hash((type(self), self.single_line))


# Every whitespace character but the non-breaking ones (U+00A0, U+202F), which
# French typography puts before ? ! : ; and inside « »: a line must not break there.
_BREAKABLE_SPACE = re.compile(r"[^\S\u00a0\u202f]+")


def squash_spaces(value: str) -> str:
    """``value`` on one line: each run of ordinary whitespace (line breaks included) becomes one space."""
    return _BREAKABLE_SPACE.sub(" ", value).strip()
