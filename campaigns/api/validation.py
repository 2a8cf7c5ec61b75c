"""Small validators for JSON request bodies.

Every problem is collected as ``{field: [message, …]}`` so a client sees all
of them at once; nothing here raises anything but ``Invalid``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from subscribers.dates import YEAR_PATTERN, date_problem
from subscribers.text import has_control_characters, text_problem

MAX_BODY_BYTES = 1024 * 1024
# What a MailingList slug can be (Django's validate_slug), and its length.
SLUG_PATTERN = r"^[-a-zA-Z0-9_]{1,60}$"
SLUG = re.compile(SLUG_PATTERN[1:-1])  # used with fullmatch
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


class Invalid(Exception):
    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("invalid request")
        self.errors = errors


class Errors:
    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(str(message))

    def raise_if_any(self) -> None:
        if self.errors:
            raise Invalid(self.errors)


class Body(dict[str, Any]):
    """A JSON object that remembers which fields the validators read.

    What the code never reads, it does not accept (``refuse_unknown``): a
    misspelt or unsupported option ("subjet", a newer client's field) is a
    400 rather than silently ignored, and the schema can say
    ``additionalProperties: false`` and be exact.
    """

    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__(data)
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        self.read.add(key)
        return super().get(key, default)


def refuse_unknown(data: Body, errors: Errors, *, prefix: str = "") -> None:
    for key in sorted(set(data) - data.read):
        errors.add(f"{prefix}{key[:60]}", _("Unknown field."))


def json_body(request: HttpRequest, *, allow_empty: bool = False) -> Body:
    """The request body as a JSON object, or Invalid."""
    # Form bodies first: once a multipart body is parsed (the text guard in
    # config/middleware.py reads every form), request.body is gone.
    if request.content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        # A bodiless POST from a form-minded client (curl -X POST -d '') means "no options".
        if not allow_empty:
            raise Invalid({"body": [_("The request body is not valid JSON.")]})
        if not request.POST:
            return Body({})
        raise Invalid({"body": [_("Send options as a JSON object (Content-Type: application/json).")]})
    try:
        raw = request.body
    except RequestDataTooBig:
        raise Invalid({"body": [_("The request body is too large.")]}) from None
    if len(raw) > MAX_BODY_BYTES:
        raise Invalid({"body": [_("The request body is too large.")]})
    if not raw.strip():
        if allow_empty:
            return Body({})
        raise Invalid({"body": [_("Send a JSON object in the request body.")]})
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise Invalid({"body": [_("The request body is not valid JSON.")]}) from None
    if not isinstance(data, dict):
        raise Invalid({"body": [_("The request body must be a JSON object.")]})
    return Body(data)


def text(
    data: dict[str, Any],
    field: str,
    errors: Errors,
    *,
    required: bool = False,
    max_length: int,
    single_line: bool = False,
    default: str = "",
    label: str | None = None,
) -> str:
    label = label or field
    value = data.get(field)
    if value is None:
        if required:
            errors.add(label, _("This field is required."))
        return default
    if not isinstance(value, str):
        errors.add(label, _("Must be a string."))
        return default
    if required and not value.strip():
        errors.add(label, _("This field may not be blank."))
        return default
    if len(value) > max_length:
        errors.add(label, _("At most %(max)d characters.") % {"max": max_length})
        return default
    # The rules of subscribers/text.py; single-line because a line break in a
    # subject or a name is an email header injection.
    problem = text_problem(value, single_line=single_line)
    if problem:
        errors.add(label, problem)
        return default
    return value.strip() if single_line else value


def choice(
    data: dict[str, Any],
    field: str,
    errors: Errors,
    *,
    choices: Iterable[str],
    required: bool = False,
    default: str = "",
) -> str:
    allowed = list(choices)
    value = data.get(field)
    if value is None:
        if required:
            errors.add(field, _("This field is required."))
        return default
    if not isinstance(value, str) or value not in allowed:
        errors.add(field, _("Must be one of: %(choices)s.") % {"choices": ", ".join(allowed)})
        return default
    return value


def string_list(
    data: dict[str, Any], field: str, errors: Errors, *, required: bool = False, max_items: int = 100
) -> list[str]:
    value = data.get(field)
    if value is None:
        if required:
            errors.add(field, _("This field is required."))
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        errors.add(field, _("Must be a list of strings."))
        return []
    if len(value) > max_items:
        errors.add(field, _("At most %(max)d items.") % {"max": max_items})
        return []
    if required and not value:
        errors.add(field, _("Choose at least one."))
    return list(dict.fromkeys(value))


def slug_list(
    data: dict[str, Any], field: str, errors: Errors, *, required: bool = False, max_items: int = 100
) -> list[str]:
    """A list of slugs (letters, digits, - and _), as the schema's SLUG_PATTERN says."""
    slugs = string_list(data, field, errors, required=required, max_items=max_items)
    bad = [slug for slug in slugs if not SLUG.fullmatch(slug)]
    if bad:
        shown = ", ".join(repr(slug) for slug in bad[:5] if not has_control_characters(slug)) or "…"
        errors.add(field, _("Not a list slug (letters, digits, - and _): %(slugs)s") % {"slugs": shown})
        return []
    return slugs


def boolean(data: dict[str, Any], field: str, errors: Errors, *, default: bool) -> bool:
    value = data.get(field)
    if value is None:
        return default
    if not isinstance(value, bool):
        errors.add(field, _("Must be true or false."))
        return default
    return value


def integer(data: dict[str, Any], field: str, errors: Errors, *, minimum: int, maximum: int) -> int | None:
    value = data.get(field)
    if value is None:
        return None
    # bool is an int in Python; true is not a number of days.
    if isinstance(value, bool) or not isinstance(value, int):
        errors.add(field, _("Must be a whole number."))
        return None
    if not minimum <= value <= maximum:
        errors.add(field, _("Must be between %(min)d and %(max)d.") % {"min": minimum, "max": maximum})
        return None
    return value


def moment(data: dict[str, Any], field: str, errors: Errors) -> datetime | None:
    """An ISO-8601 date-time; without an offset it is in the organisation's time zone."""
    value = data.get(field)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 64:
        errors.add(field, _("Must be an ISO-8601 date and time, e.g. 2026-05-01T09:00:00-05:00."))
        return None
    try:
        if not _MOMENT_SHAPE.fullmatch(value):
            raise ValueError(value)
        parsed = datetime.fromisoformat(value)
    except ValueError:
        errors.add(field, _("Must be an ISO-8601 date and time, e.g. 2026-05-01T09:00:00-05:00."))
        return None
    # Before anything converts it: year 9999 with a negative offset is year
    # 10000 in UTC, which PostgreSQL stores and Python cannot read back.
    problem = date_problem(parsed)
    if problem:
        errors.add(field, problem)
        return None
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=ZoneInfo(settings.TIME_ZONE))
    return parsed
