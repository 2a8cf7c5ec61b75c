"""The dates and times Tocsin accepts, wherever they come from: one rule.

Python's ``datetime`` ends at year 9999 and PostgreSQL's does not: the API
once took ``"signed_up_before": "9999-12-31T23:00:00-11:00"``, PostgreSQL
stored year 10000 (UTC), and every later read of that row failed in the
driver, so the admin's campaign list answered 500 for everyone. Near year 1
the same happens the other way as soon as a time zone is applied.

So every way a date gets in (the JSON API, admin forms, CSV imports, the
CLI) checks it here against a range no newsletter needs to leave (1900 to
2099), and rows that hold an impossible date anyway (written before this
rule, or by hand in SQL) load clamped instead of crashing
(``install_lenient_loaders``), so their pages open and staff can fix them.

This module sits in the lowest app so every other app may import it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

EARLIEST = date(1900, 1, 1)
LATEST = date(2099, 12, 31)
# The same range as a regular expression over a four-digit year (for JSON
# Schema patterns, which cannot compare numbers inside strings).
YEAR_PATTERN = "(?:19|20)[0-9]{2}"

# What an impossible stored value loads as: a day inside Python's range with
# room for any time-zone offset, so localtime() and isoformat() still work,
# and far enough out that nobody takes it for a real date.
LOADED_WHEN_TOO_LATE = datetime(9999, 12, 30)  # naive: the loader adds its own time zone
LOADED_WHEN_TOO_EARLY = datetime(1, 1, 2)


class DateOutOfRange(ValueError):
    """A date outside the range Tocsin accepts; ``message`` says which range."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def date_problem(value: date | datetime) -> str | None:
    """Why ``value`` may not be stored, or None when it may."""
    # The year as written, not in UTC: the bounds are centuries from the
    # edges, so no offset moves a value across one, and converting a value
    # near year 9999 to UTC is exactly what overflows.
    if EARLIEST.year <= value.year <= LATEST.year:
        return None
    return str(
        _("Must be a date between %(earliest)s and %(latest)s.")
        % {"earliest": EARLIEST.isoformat(), "latest": LATEST.isoformat()}
    )


def check_date(value: Any) -> Any:
    """``value`` unchanged, or DateOutOfRange."""
    problem = date_problem(value)
    if problem:
        raise DateOutOfRange(problem)
    return value


@deconstructible
class DateRangeValidator:
    """Django validator form of ``date_problem`` (for form and model fields)."""

    def __call__(self, value: Any) -> None:
        if isinstance(value, date):
            problem = date_problem(value)
            if problem:
                raise ValidationError(problem, code="date_out_of_range")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DateRangeValidator)

    def __hash__(self) -> int:
        return hash(type(self))


def check_form_dates(form: Any) -> None:
    """Add the range rule to every date and date-time field of a Django form.

    Call it in a form's ``__init__``, or on a form class (a ModelAdmin's ``get_form``).
    """
    from django import forms

    fields = form.base_fields if isinstance(form, type) else form.fields  # type: ignore[attr-defined]
    for field in fields.values():
        if isinstance(field, forms.DateField | forms.DateTimeField | forms.SplitDateTimeField):
            field.validators.append(DateRangeValidator())


# --- Reading rows that hold an impossible date ------------------------------------------


def _lenient(loader: type, *, late: Any, early: Any) -> type:
    import psycopg
    from psycopg.adapt import Loader

    class LenientLoader(Loader):
        # Wraps rather than subclasses: psycopg's C loaders cannot be subclassed.
        # ``timezone`` is what Django compares to decide whether a cursor
        # needs its own time-zone loader (it must see its own value here).
        timezone = getattr(loader, "timezone", None)
        tocsin_lenient = True

        def __init__(self, oid: int, context: Any = None) -> None:
            super().__init__(oid, context)
            self._inner = loader(oid, context)

        def load(self, data: Any) -> Any:
            try:
                return self._inner.load(data)
            except psycopg.DataError:
                # "10000-01-01 …", "infinity", "0044-03-15 BC", "-infinity"
                raw = bytes(data)
                value = early if raw.startswith(b"-") or raw.endswith(b" BC") else late
                if isinstance(value, datetime):
                    value = value.replace(tzinfo=self.timezone)
                return value

    return LenientLoader


def install_lenient_loaders(sender: Any, connection: Any, **kwargs: Any) -> None:
    """``connection_created`` receiver: load out-of-range dates clamped, not as an error.

    At the driver, because that is where the read fails: psycopg raises
    before Django (or any ``from_db_value``) sees the row, so no model or
    admin code could catch it short of wrapping every query.
    """
    if connection.vendor != "postgresql":
        return  # SQLite stores text and Django parses it: no driver error to catch
    raw = connection.connection
    adapters = getattr(raw, "adapters", None)
    if adapters is None:  # psycopg2: not what requirements.txt installs
        return
    from psycopg.postgres import types
    from psycopg.pq import Format

    # The column types Django's DateTimeField (with USE_TZ) and DateField use.
    for name in ("timestamptz", "date"):
        oid = types[name].oid
        # Django registers its own time-zone-aware loader for timestamptz:
        # extend that one, keeping its time zone.
        current = adapters.get_loader(oid, Format.TEXT)
        if current is None or getattr(current, "tocsin_lenient", False):
            continue
        late: Any = LOADED_WHEN_TOO_LATE.date() if name == "date" else LOADED_WHEN_TOO_LATE
        early: Any = LOADED_WHEN_TOO_EARLY.date() if name == "date" else LOADED_WHEN_TOO_EARLY
        adapters.register_loader(oid, _lenient(current, late=late, early=early))
