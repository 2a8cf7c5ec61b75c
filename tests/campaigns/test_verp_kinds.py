"""VERP tokens of other kinds than a campaign's delivery (letters, digests): signed apart, never confused.

A campaign's token stays ``<id>-<mac>`` (bounces of mail sent before letters
had tokens still match); another kind's is ``<kind>-<id>-<mac>``, its MAC
computed over the kind too, so a campaign token with a kind glued on, or a
letter token read as a campaign's, names nothing.
"""

from __future__ import annotations

import pytest

from campaigns.events.bounces import verp

FROM = "bulletin@tocsin.example.org"


def test_a_letter_token_names_its_letter():
    token = verp.token_for(4242, kind="letter")
    assert token.startswith("letter-")
    assert verp.delivery_id_of(token, kind="letter") == 4242
    assert verp.delivery_id_of(token.upper(), kind="letter") == 4242  # servers that fold the case
    address = verp.envelope_sender(delivery_id=4242, envelope_from=FROM, kind="letter")
    assert address.startswith("bounces+letter-") and address.endswith("@tocsin.example.org")
    assert len(address.partition("@")[0]) <= 64  # RFC 5321's limit on a local part
    assert verp.returned_in(f"Delivered-To: {address}") == [verp.Returned("letter", 4242)]


def test_a_forged_letter_token_names_nothing():
    token = verp.token_for(4242, kind="letter")
    kind, head, mac = token.split("-")
    other_head = verp.token_for(4243, kind="letter").split("-")[1]
    assert verp.delivery_id_of(f"{kind}-{other_head}-{mac}", kind="letter") is None
    assert verp.delivery_id_of(f"{kind}-{head}-{'a' * 13}", kind="letter") is None
    assert verp.returned_in(f"bounces+{kind}-{other_head}-{mac}@tocsin.example.org") == []


def test_a_campaign_token_is_not_a_letter_token_and_a_letter_token_is_not_a_campaigns():
    campaign_token = verp.token_for(77)
    letter_token = verp.token_for(77, kind="letter")
    assert verp.delivery_id_of(campaign_token, kind="letter") is None
    assert (
        verp.delivery_id_of("letter-" + campaign_token, kind="letter") is None
    )  # the campaign's MAC is not a letter's
    assert verp.delivery_id_of(letter_token) is None
    assert verp.delivery_id_of(letter_token.partition("-")[2]) is None  # the kind cut off: the MAC still says letter
    letter_address = verp.envelope_sender(delivery_id=77, envelope_from=FROM, kind="letter")
    campaign_address = verp.envelope_sender(delivery_id=77, envelope_from=FROM)
    assert verp.delivery_ids_in(letter_address) == []  # campaigns' own reading never sees a letter
    assert verp.delivery_ids_in(campaign_address) == [77]
    assert verp.returned_in(campaign_address) == [verp.Returned(verp.CAMPAIGN, 77)]


def test_a_letter_token_is_not_a_digest_token():
    assert verp.delivery_id_of(verp.token_for(9, kind="letter").replace("letter", "digest", 1), kind="digest") is None
    assert verp.returned_in("bounces+" + verp.token_for(9, kind="digest") + "@x.example") == [
        verp.Returned("digest", 9)
    ]


def test_campaign_tokens_are_as_they_always_were():
    # Bounces of campaign mail sent before this change must still match: same shape, same MAC.
    token = verp.token_for(123456789)
    assert token.count("-") == 1
    assert verp.delivery_id_of(token) == 123456789


@pytest.mark.parametrize("kind", ["Letter", "let-ter", "x" * 13, "l3tter"])
def test_a_kind_is_a_short_lower_case_word(kind):
    with pytest.raises(ValueError):
        verp.token_for(1, kind=kind)
