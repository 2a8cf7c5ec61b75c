"""Postal codes as people type them, and the district they lead to (longest prefix wins; never a guess)."""

from __future__ import annotations

import pytest

from actions.districts import AMBIGUOUS, FOUND, UNKNOWN, allowed_choice, find_district
from actions.postal import InvalidPostalCode, normalize_postal_code, normalize_prefix, prefixes_of
from tests.support.factories import district, riding_map


@pytest.mark.parametrize(
    "typed",
    ["m5v2t6", "M5V 2T6", " m5v 2t6 ", "M5V-2T6", "M 5 V 2 T 6"],
)
def test_every_usual_way_of_typing_a_code_gives_the_same_code(typed):
    assert normalize_postal_code(typed) == "M5V 2T6"


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "M5V",  # an FSA alone is not a postal code
        "M5V 2T",
        "M5V 2T66",
        "12345",  # a US ZIP code
        "D5V 2T6",  # D is never used
        "M5O 2T6",  # nor O
        "W1A 1AA",  # W never starts a code (and this is a UK postcode)
        "Z5V 2T6",
        "M5V 2U6",  # nor U anywhere
        "MMV 2T6",
        "M5V 2T6\n",
        "M5V\r\n2T6",
        "m5v\t2t6",
        "M5V\x002T6",
        "M5V 2T6\ud800",
        "M" * 10_000,
    ],
)
def test_anything_else_is_refused_with_a_message_for_the_person(typed):
    with pytest.raises(InvalidPostalCode) as refused:
        normalize_postal_code(typed)
    assert refused.value.message


def test_w_and_z_are_fine_after_the_first_letter():
    assert normalize_postal_code("k1w 2z9") == "K1W 2Z9"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("k1a", "K1A"), ("K1A 0A6", "K1A0A6"), ("k1a0", "K1A0"), ("K1A-0A", "K1A0A")],
)
def test_import_prefixes_are_stored_compact(typed, stored):
    assert normalize_prefix(typed) == stored


@pytest.mark.parametrize("typed", ["K1", "K", "K1A0A6X", "1KA", "K1A=1", "=K1A", "K1A\x00"])
def test_import_prefixes_that_are_not_the_start_of_a_postal_code_are_refused(typed):
    with pytest.raises(InvalidPostalCode):
        normalize_prefix(typed)


def test_prefixes_of_a_code_are_listed_longest_first():
    assert prefixes_of("K1A 0A6") == ["K1A0A6", "K1A0A", "K1A0", "K1A"]


pytestmark_db = pytest.mark.django_db


@pytestmark_db
def test_an_fsa_in_one_district_finds_it():
    ridings = riding_map()
    match = find_district("K1A 0B1")
    assert match.outcome == FOUND
    assert match.district == ridings["north"]


@pytestmark_db
def test_an_fsa_shared_by_two_districts_asks_the_supporter_to_choose_between_them():
    ridings = riding_map()
    match = find_district("K2B 1A1")
    assert match.outcome == AMBIGUOUS
    assert match.district is None
    assert match.choices == [ridings["east"], ridings["west"]]


@pytestmark_db
def test_the_longest_prefix_wins_over_a_shared_fsa():
    ridings = riding_map()
    match = find_district("K2B 9Z9")
    assert match.outcome == FOUND
    assert match.district == ridings["west"]


@pytestmark_db
def test_a_longer_prefix_in_two_districts_is_still_a_choice_and_not_the_fsa_guess():
    ridings = riding_map()
    district("90004", "Rideau South", "K1A0A")
    district("90005", "Rideau Centre", "K1A0A")
    match = find_district("K1A 0A6")
    assert match.outcome == AMBIGUOUS
    assert ridings["north"] not in match.choices
    assert [choice.code for choice in match.choices] == ["90005", "90004"]


@pytestmark_db
def test_an_unknown_fsa_offers_the_districts_nearby():
    ridings = riding_map()
    district("10001", "Halifax Harbour", "B3H", province="NS")
    match = find_district("K2C 3P4")
    assert match.outcome == UNKNOWN
    # Same first two characters: the three K1/K2 ridings are not all "K2", so the list widens to K.
    assert set(match.choices) == {ridings["north"], ridings["east"], ridings["west"]}


@pytestmark_db
def test_an_unknown_code_in_a_region_with_no_data_offers_every_district():
    riding_map()
    match = find_district("V6B 1A1")
    assert match.outcome == UNKNOWN
    assert len(match.choices) == 3


@pytestmark_db
def test_a_choice_must_be_one_of_those_offered():
    ridings = riding_map()
    district("10001", "Halifax Harbour", "B3H", province="NS")
    ambiguous = find_district("K2B 1A1")
    assert allowed_choice(ambiguous, "K2B 1A1", "90003") == ridings["west"]
    assert allowed_choice(ambiguous, "K2B 1A1", "90001") is None  # a real district, but not this code's
    unknown = find_district("K2C 3P4")
    assert allowed_choice(unknown, "K2C 3P4", "90001") == ridings["north"]
    assert allowed_choice(unknown, "K2C 3P4", "10001") is None  # another province
    assert allowed_choice(unknown, "K2C 3P4", "nope") is None
