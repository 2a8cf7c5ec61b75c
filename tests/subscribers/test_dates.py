"""The one range of dates Tocsin accepts (subscribers/dates.py), and rows that hold another."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from django import forms
from django.db import connection

from subscribers.dates import EARLIEST, LATEST, YEAR_PATTERN, check_form_dates, date_problem
from subscribers.models import Subscriber


@pytest.mark.parametrize(
    "value",
    [date(1, 1, 1), date(1899, 12, 31), date(2100, 1, 1), datetime(9999, 12, 31, 23, tzinfo=UTC)],
)
def test_dates_outside_the_range_are_refused(value):
    assert date_problem(value) == "Must be a date between 1900-01-01 and 2099-12-31."


@pytest.mark.parametrize("value", [EARLIEST, LATEST, date(2026, 5, 1), datetime(2026, 5, 1, 9, tzinfo=UTC)])
def test_dates_inside_the_range_pass(value):
    assert date_problem(value) is None


def test_the_schema_year_pattern_says_the_same_range():
    pattern = re.compile(YEAR_PATTERN)
    years = [year for year in range(1, 10000) if pattern.fullmatch(f"{year:04d}")]
    assert (years[0], years[-1], len(years)) == (EARLIEST.year, LATEST.year, LATEST.year - EARLIEST.year + 1)


def test_a_form_refuses_an_out_of_range_date_in_any_date_field():
    class Form(forms.Form):
        day = forms.DateField()
        moment = forms.DateTimeField()
        split = forms.SplitDateTimeField()

        def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            super().__init__(*args, **kwargs)
            check_form_dates(self)

    form = Form({"day": "9999-12-31", "moment": "0001-01-01 00:00", "split_0": "2100-01-01", "split_1": "00:00"})
    assert not form.is_valid()
    assert set(form.errors) == {"day", "moment", "split"}


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("stored", "loaded"),
    [
        ("10000-01-01 10:00:00+00", datetime(9999, 12, 30, tzinfo=UTC)),
        ("infinity", datetime(9999, 12, 30, tzinfo=UTC)),
        ("0044-03-15 12:00:00+00 BC", datetime(1, 1, 2, tzinfo=UTC)),
        ("-infinity", datetime(1, 1, 2, tzinfo=UTC)),
        ("2026-05-01 14:00:00+00", datetime(2026, 5, 1, 14, tzinfo=UTC)),
    ],
)
def test_a_stored_date_python_cannot_hold_loads_clamped(stored, loaded):
    person = Subscriber.objects.create(email="ana@example.org")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE subscribers_subscriber SET confirmed_at = %s WHERE id = %s", [stored, person.pk])
        cursor.execute("UPDATE subscribers_subscriber SET paused_until = %s WHERE id = %s", ["10000-01-01", person.pk])
    person.refresh_from_db()
    assert person.confirmed_at == loaded
    assert person.paused_until == date(9999, 12, 30)
