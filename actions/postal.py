"""Canadian postal codes: what a supporter types, normalised and checked.

A postal code is ``A1A 1A1``: letter, digit, letter, space, digit, letter,
digit. D, F, I, O, Q and U are never used (they are read as other letters
or digits), and W and Z never start a code. People type ``m5v2t6``,
``M5V-2T6`` or `` m5v 2t6 ``: all mean ``M5V 2T6``.

A district is found from a *prefix* of the code: its first three characters
(the forward sortation area, FSA) or more, up to the whole code.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

from subscribers.text import has_control_characters

_FIRST = "ABCEGHJKLMNPRSTVXY"
_LETTER = "ABCEGHJKLMNPRSTVWXYZ"
_DIGIT = "0123456789"
# What each position of a compact code may hold.
_POSITIONS = (_FIRST, _DIGIT, _LETTER, _DIGIT, _LETTER, _DIGIT)
_SEPARATORS = re.compile(r"[\s\-]+")
# Longer than any way of typing a postal code with spaces: refused before
# any work is done on it.
_MAX_INPUT = 20


class InvalidPostalCode(ValueError):
    """Not a Canadian postal code; ``message`` says why, for the person who typed it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _compact(value: str) -> str:
    return _SEPARATORS.sub("", value).upper()


def _fits(compact: str) -> bool:
    return all(char in allowed for char, allowed in zip(compact, _POSITIONS, strict=False))


def normalize_postal_code(value: str) -> str:
    """``value`` as ``A1A 1A1``, or InvalidPostalCode."""
    if has_control_characters(value):
        raise InvalidPostalCode(_("A postal code cannot contain line breaks or control characters."))
    if len(value) > _MAX_INPUT:
        raise InvalidPostalCode(_("Enter a Canadian postal code, like K1A 0A6."))
    compact = _compact(value)
    if len(compact) != 6 or not _fits(compact):
        raise InvalidPostalCode(_("Enter a Canadian postal code, like K1A 0A6."))
    return f"{compact[:3]} {compact[3:]}"


def compact_postal_code(postal_code: str) -> str:
    """``M5V 2T6`` → ``M5V2T6`` (the form prefixes are stored in)."""
    return _compact(postal_code)


def normalize_prefix(value: str) -> str:
    """A prefix from an import file (``k1a``, ``K1A 0A6``) as stored: compact, upper-case, 3 to 6 characters."""
    if has_control_characters(value):
        raise InvalidPostalCode(_("A postal prefix cannot contain line breaks or control characters."))
    if len(value) > _MAX_INPUT:
        raise InvalidPostalCode(_("Write a postal prefix like K1A, or a whole postal code like K1A 0A6."))
    compact = _compact(value)
    if not 3 <= len(compact) <= 6 or not _fits(compact):
        raise InvalidPostalCode(_("Write a postal prefix like K1A, or a whole postal code like K1A 0A6."))
    return compact


def prefixes_of(postal_code: str) -> list[str]:
    """Every stored-form prefix of a normalised code, longest first: ``K1A0A6``, ``K1A0A``, ``K1A0``, ``K1A``."""
    compact = _compact(postal_code)
    return [compact[:length] for length in range(len(compact), 2, -1)]
