"""The one set of rules for text Tocsin refuses (subscribers/text.py)."""

from __future__ import annotations

import time

import pytest

from subscribers.text import (
    UnsafeText,
    address_problem,
    check_text,
    has_control_characters,
    name_problem,
    schema_pattern,
    text_problem,
    unsafe_text_in,
)


@pytest.mark.parametrize(
    "value",
    ["a\x00b", "\ud800", "x\udfffy", "bell\x07", "esc\x1b[31m", "del\x7f", "c1\x85"],
)
def test_it_refuses_nul_surrogates_and_control_characters_in_any_text(value: str) -> None:
    assert text_problem(value) is not None
    with pytest.raises(UnsafeText):
        check_text(value)


def test_multi_line_text_keeps_tabs_and_line_breaks() -> None:
    body = "Dear minister,\r\n\n\tWe write to you\u2028about a defender."
    assert text_problem(body) is None
    assert check_text(body) == body


@pytest.mark.parametrize("value", ["Subject\r\nBcc: x@evil.example", "a\nb", "tab\there", "sep\u2028x"])
def test_single_line_text_refuses_line_breaks(value: str) -> None:
    assert has_control_characters(value)
    assert text_problem(value, single_line=True) is not None


def test_emoji_and_accents_are_fine() -> None:
    assert text_problem("Añadir 🌱 ça marche — ¿sí?", single_line=True) is None


@pytest.mark.parametrize(
    "name",
    [
        "Win money at evil.example/claim",
        "visit EVIL.COM now",
        "bit.ly",
        "https://x",
        "www.example",
        "Ana <a href=x>",
        "Ana\u202eanA",
        "Ana\u2066x\u2069",
        "An\u200ba",
        "Ana\ufeff",
    ],
)
def test_names_refuse_links_domains_and_disguises(name: str) -> None:
    assert name_problem(name) is not None


@pytest.mark.parametrize("name", ["Ana Quispe", "Dr. Ana María", "J.R.R. Tolkien", "O'Brien-Núñez", "李小龍", "Zoë"])
def test_real_names_pass(name: str) -> None:
    assert name_problem(name) is None


def test_a_long_name_is_checked_in_linear_time() -> None:
    started = time.perf_counter()
    for candidate in ("a" * 200_000, "a-" * 100_000, "a." * 100_000):
        name_problem(candidate)
    # Quadratic backtracking over 200 KB takes minutes; linear takes milliseconds.
    assert time.perf_counter() - started < 5


def test_it_finds_unsafe_text_anywhere_in_a_json_value() -> None:
    data = {"name": "ok", "lists": ["peru", "gua\x00temala"], "translations": {"es": {"subject": "\ud800"}}}
    assert dict(unsafe_text_in(data)) == {
        "lists[1]": "Must not contain NUL characters.",
        "translations.es.subject": "Contains an invalid character (a lone UTF-16 surrogate).",
    }
    assert list(unsafe_text_in({"fine": ["a\nb", 1, None, True]})) == []


@pytest.mark.parametrize(
    "address", ["ana@[127.0.0.1]", "ana@[ipv6:::1]", "ana@10.0.0.12", "ana@example.org\n", "ana\x00@example.org"]
)
def test_ip_literals_and_control_characters_are_not_addresses(address):
    assert address_problem(address) is not None


@pytest.mark.parametrize("address", ["ana@example.org", "ana.quispe+peru@mail.example.co.uk", "ana@exämple.org"])
def test_ordinary_addresses_pass(address):
    assert address_problem(address) is None


def test_the_schema_pattern_accepts_exactly_what_text_problem_accepts():
    import re

    samples = ["ok", " padded ", "", "   ", "tab\there", "a\nb", "nul\x00", "bell\x07", "c1\x85", "sep\u2028x"]
    for single_line in (False, True):
        pattern = re.compile(schema_pattern(single_line=single_line).replace("$", r"\Z"))
        required = re.compile(schema_pattern(single_line=single_line, required=True).replace("$", r"\Z"))
        for value in samples:
            accepted = text_problem(value, single_line=single_line) is None
            assert bool(pattern.search(value)) is accepted, (single_line, value)
            assert bool(required.search(value)) is (accepted and bool(value.strip())), (single_line, value)
