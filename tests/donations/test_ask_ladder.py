"""Suggested amounts: from each person's last gift, rounded to numbers people type."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from donations.ask_ladder import AskLadder, ask_urls, ladder_for, ladder_from, ladders_for, nice
from tests.support.factories import gift, make_list, make_people

pytestmark = pytest.mark.django_db


def amounts(*values: str) -> tuple[Decimal, ...]:
    return tuple(Decimal(v) for v in values)


def test_the_ladder_is_last_gift_one_and_a_half_and_double_rounded_nicely():
    assert ladder_from(Decimal("40")) == amounts("40", "60", "80")
    assert ladder_from(Decimal("37.13")) == amounts("35", "60", "70")
    assert ladder_from(Decimal("250")) == amounts("250", "400", "500")
    assert ladder_from(Decimal("3")) == amounts("3", "5", "6")


def test_rounding_never_merges_or_drops_below_one():
    assert ladder_from(Decimal("0.50")) == amounts("1", "2", "3")
    assert nice(Decimal("0.2")) == Decimal(1)


def test_each_person_gets_a_ladder_from_their_last_gift_and_never_donors_the_default(settings):
    settings.TOCSIN_DEFAULT_ASK_LADDER = ["20", "40", "80"]
    settings.TOCSIN_DONATION_CURRENCY = "PEN"
    ana, rosa, luis = make_people(3, make_list())
    gift(ana.email, "10", days_ago=300)
    gift(ana.email, "100", currency="EUR", days_ago=10)  # the last one counts
    gift(rosa.email, "15", days_ago=5)

    with CaptureQueriesContext(connection) as queries:
        ladders = ladders_for([ana.pk, rosa.pk, luis.pk])
    assert len(queries.captured_queries) == 1

    assert (ladders[ana.pk].currency, ladders[ana.pk].amounts) == ("EUR", amounts("100", "150", "200"))
    assert ladders[rosa.pk].amounts == amounts("15", "25", "30")
    assert ladders[luis.pk].from_last_gift is False
    assert (ladders[luis.pk].currency, ladders[luis.pk].amounts) == ("PEN", amounts("20", "40", "80"))
    assert ladder_for(rosa).amounts == ladders[rosa.pk].amounts
    assert ladder_for(None).from_last_gift is False


def test_each_rung_becomes_a_donate_link_with_its_amount():
    ladder = AskLadder(currency="USD", amounts=amounts("10", "15", "20"), from_last_gift=True)
    links = ask_urls("https://give.example.org/donate?fund=water&amount=5", ladder)
    assert links[0] == (Decimal("10"), "https://give.example.org/donate?fund=water&amount=10&currency=USD")
    assert [amount for amount, _ in links] == list(ladder.amounts)


def test_bad_ladder_settings_fail_the_system_check(settings):
    from donations.apps import check_donation_settings

    assert check_donation_settings() == []
    settings.TOCSIN_DEFAULT_ASK_LADDER = ["25", "lots"]
    settings.TOCSIN_DONATION_CURRENCY = "DOLLARS"
    assert {error.id for error in check_donation_settings()} == {"donations.E001", "donations.E002"}
