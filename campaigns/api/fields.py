"""Field types for the API's schemas: each says in the OpenAPI document exactly what its check accepts.

The checks are Tocsin's own, with their own messages: the text rules of
``subscribers/text.py`` (and ``schema_pattern``, the same rules as a JSON
Schema pattern), the date range of ``subscribers/dates.py``, list slugs as
Django's ``validate_slug``. Pydantic's lax coercions are off where JSON would
be misread ("yes" is not true, "30" is not a number of days), so the
document's types are the code's types and schemathesis finds no gap.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from annotated_types import GroupedMetadata, MaxLen
from django.conf import settings
from django.utils.translation import gettext as _
from pydantic import AfterValidator, BeforeValidator, Field, GetJsonSchemaHandler, Strict, StrictBool, WithJsonSchema
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError

from subscribers.dates import EARLIEST, LATEST, YEAR_PATTERN, date_problem
from subscribers.text import has_control_characters, schema_pattern, text_problem

LANGUAGES = [code for code, _label in settings.LANGUAGES]
# What a MailingList slug can be (Django's validate_slug), and its length.
SLUG_PATTERN = r"^[-a-zA-Z0-9_]{1,60}$"
_SLUG = re.compile(SLUG_PATTERN[1:-1])
# ISO-8601 as clients write it: a date, optionally a time, optionally an
# offset (none: the organisation's time zone), in the years Tocsin accepts.
_MOMENT_TAIL = (
    r"-[0-9]{2}-[0-9]{2}"  # -MM-DD
    r"(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?"  # Thh:mm[:ss[.ffffff]]
    r"(?:Z|[+-][0-9]{2}:[0-9]{2})?)?"  # offset
)
MOMENT_PATTERN = rf"^{YEAR_PATTERN}{_MOMENT_TAIL}$"
# The code checks the shape with any year, then the range with
# subscribers.dates, whose message names the range: the same set of values.
_MOMENT_SHAPE = re.compile(rf"[0-9]{{4}}{_MOMENT_TAIL}")


def problem(kind: str, message: str) -> PydanticCustomError:
    """A validation error with Tocsin's own message (braces in it are not a template)."""
    return PydanticCustomError(kind, "{message}", {"message": str(message)})


class Described:
    """Adds keys to a field's JSON Schema (what the check beside it enforces)."""

    def __init__(self, **schema: Any) -> None:
        self.schema = schema

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema.update(self.schema)
        return schema


class Text(GroupedMetadata):
    """``Annotated[str, Text(200)]``: a string under the rules of subscribers/text.py; single-line text is stripped.

    Single line because a line break in a subject or a name is an email
    header injection. ``required``: present and not blank.
    """

    def __init__(self, max_length: int, *, single_line: bool = True, required: bool = False, **schema: Any) -> None:
        self.max_length, self.single_line, self.required = max_length, single_line, required
        self.schema = {"pattern": schema_pattern(single_line=single_line, required=required), **schema}

    def _present(self, value: Any) -> Any:
        if value is None and self.required:
            raise problem("missing", _("This field is required."))
        return value

    def _check(self, value: str) -> str:
        if self.required and not value.strip():
            raise problem("blank", _("This field may not be blank."))
        found = text_problem(value, single_line=self.single_line)
        if found:
            raise problem("unsafe_text", found)
        return value.strip() if self.single_line else value

    def __iter__(self) -> Iterator[Any]:
        yield MaxLen(self.max_length)
        yield AfterValidator(self._check)
        yield BeforeValidator(self._present)
        yield Described(**self.schema)


class OneOf(GroupedMetadata):
    """``Annotated[str, OneOf(values)]``: one of these strings, and nothing else."""

    def __init__(self, choices: Sequence[str], **schema: Any) -> None:
        self.choices = [str(choice) for choice in choices]
        self.schema = schema

    def _check(self, value: Any) -> str:
        if not isinstance(value, str) or value not in self.choices:
            raise problem("choice", _("Must be one of: %(choices)s.") % {"choices": ", ".join(self.choices)})
        return value

    def __iter__(self) -> Iterator[Any]:
        yield BeforeValidator(self._check)
        yield WithJsonSchema({"type": "string", "enum": self.choices, **self.schema})


class WholeNumber(GroupedMetadata):
    """``Annotated[int, WholeNumber(1, 3650)]``: an integer in that range (true is not 1, "30" is not 30)."""

    def __init__(self, minimum: int, maximum: int) -> None:
        self.minimum, self.maximum = minimum, maximum

    def _check(self, value: int) -> int:
        if not self.minimum <= value <= self.maximum:
            raise problem(
                "range", _("Must be between %(min)d and %(max)d.") % {"min": self.minimum, "max": self.maximum}
            )
        return value

    def __iter__(self) -> Iterator[Any]:
        yield Strict()
        yield AfterValidator(self._check)
        yield Described(minimum=self.minimum, maximum=self.maximum)


def _slug(value: str) -> str:
    if not _SLUG.fullmatch(value):
        shown = repr(value) if not has_control_characters(value) else "…"
        raise problem("slug", _("Not a list slug (letters, digits, - and _): %(slugs)s") % {"slugs": shown})
    return value


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


Slug = Annotated[str, AfterValidator(_slug), Described(pattern=SLUG_PATTERN)]
Slugs = Annotated[
    list[Slug],
    Field(min_length=1, max_length=100, description="List slugs (GET /lists); an unknown one is a 400."),
    AfterValidator(_unique),
]
Flag = StrictBool
Language = Annotated[str, OneOf(LANGUAGES)]


def _moment(value: Any) -> datetime:
    """An ISO-8601 date-time; without an offset it is in the organisation's time zone."""
    shape = _("Must be an ISO-8601 date and time, e.g. 2026-05-01T09:00:00-05:00.")
    if not isinstance(value, str) or len(value) > 64 or not _MOMENT_SHAPE.fullmatch(value):
        raise problem("moment", shape)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise problem("moment", shape) from None
    # Before anything converts it: year 9999 with a negative offset is year
    # 10000 in UTC, which PostgreSQL stores and Python cannot read back.
    out_of_range = date_problem(parsed)
    if out_of_range:
        raise problem("date_range", out_of_range)
    return parsed.replace(tzinfo=ZoneInfo(settings.TIME_ZONE)) if parsed.tzinfo is None else parsed


Moment = Annotated[
    datetime,
    BeforeValidator(_moment),
    WithJsonSchema(
        {
            "type": "string",
            "maxLength": 64,
            "pattern": MOMENT_PATTERN,
            "description": "ISO-8601, e.g. 2026-05-01T09:00:00-05:00; without an offset, the organisation's "
            f"time zone ({settings.TIME_ZONE}). Between {EARLIEST.isoformat()} and {LATEST.isoformat()}.",
        }
    ),
]
# Read back as stored, in ISO-8601 (a datetime would be re-serialised with "Z").
Timestamp = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]
