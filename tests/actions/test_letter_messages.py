"""A letter as the target receives it: From the supporter via the organisation, Reply-To the supporter."""

from __future__ import annotations

import email
import email.policy
from email.header import decode_header, make_header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import parseaddr

import pytest
from django.conf import settings

from actions.sending import messages
from campaigns.sending.mime import envelope_and_bytes

ORG_ADDRESS = "bulletin@tocsin.example.org"


@pytest.fixture(autouse=True)
def _org(settings):
    settings.TOCSIN_ORG_NAME = "Red de Defensa, Lima"
    settings.DEFAULT_FROM_EMAIL = f"Red de Defensa <{ORG_ADDRESS}>"


def supporter(name: str = "Ana Quispe", **fields: str) -> messages.Supporter:
    values = {
        "name": name,
        "email": "ana.quispe@example.org",
        "postal_code": "K1A 0A6",
        "place": "Rideau North, ON",
        "message": "My cousin works near the mine.",
        "subject": "Binding rules for mining companies",
        "body": "Dear MP,\n\nPlease support binding rules.",
        "language": "en",
        **fields,
    }
    return messages.Supporter(**values)


MP = messages.Recipient(name="Ben Okafor", email="ben.okafor@parl.example", language="en")


def parsed(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def both_serialisations(message) -> list[EmailMessage]:  # type: ignore[no-untyped-def]
    """What the SMTP fast path (campaigns' mime) writes and what Django writes (the other backends)."""
    built = envelope_and_bytes(message)
    assert built is not None
    return [parsed(built[2]), parsed(message.message().as_bytes())]


def exact_name(message: EmailMessage, header: str) -> str:
    """The display name as RFC 2047 defines it, decoded from the raw header (Python 3.11's structured
    parser keeps the space between adjacent encoded words, which RFC 2047 6.2 says to drop)."""
    raw = [value for name, value in message.raw_items() if name.lower() == header.lower()]
    assert len(raw) == 1
    name, _address = parseaddr(" ".join(raw[0].split()))
    return str(make_header(decode_header(name)))


def single_address(message: EmailMessage, header: str) -> Address:
    addresses = message[header].addresses
    assert len(addresses) == 1, f"{header}: {message[header]!r}"
    return addresses[0]


def test_a_letter_comes_from_the_supporter_via_the_organisation_and_replies_go_to_the_supporter():
    letter = messages.letter_message(letter_id=7, supporter=supporter(), target=MP)
    for message in both_serialisations(letter):
        sender = single_address(message, "From")
        assert sender.display_name == "Ana Quispe via Red de Defensa, Lima"
        assert sender.addr_spec == ORG_ADDRESS  # the organisation's own domain: DMARC passes
        reply_to = single_address(message, "Reply-To")
        assert (reply_to.display_name, reply_to.addr_spec) == ("Ana Quispe", "ana.quispe@example.org")
        assert single_address(message, "To").addr_spec == "ben.okafor@parl.example"
        assert message["Subject"] == "Binding rules for mining companies"
        assert message["Message-ID"].strip().startswith("<") and "tocsin.letter.7" in message["Message-ID"]


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ('Ana "la Jefa" Quispe, Jr.', 'Ana "la Jefa" Quispe, Jr.'),
        ("Zoë Ñandú-Łukasz 山田", "Zoë Ñandú-Łukasz 山田"),
        ("Ana\r\nBcc: victim@example.org", "Ana Bcc: victim@example.org"),
        ("Ana\nTo: a@b.example, c@d.example", "Ana To: a@b.example, c@d.example"),
        ("O'Brien <evil@example.org>", "O'Brien <evil@example.org>"),
    ],
)
def test_hostile_or_unusual_names_stay_inside_one_display_name(name, shown):
    letter = messages.letter_message(letter_id=1, supporter=supporter(name), target=MP)
    for message in both_serialisations(letter):
        assert single_address(message, "From").addr_spec == ORG_ADDRESS
        assert single_address(message, "Reply-To").addr_spec == "ana.quispe@example.org"
        assert exact_name(message, "From") == f"{shown} via Red de Defensa, Lima"
        assert exact_name(message, "Reply-To") == shown
        assert message["Bcc"] is None and message.get_all("To") is not None and len(message.get_all("To")) == 1
        assert single_address(message, "To").addr_spec == "ben.okafor@parl.example"


def test_the_raw_headers_are_ascii_with_non_ascii_names_encoded():
    letter = messages.letter_message(letter_id=1, supporter=supporter("Zoë Ñandú"), target=MP)
    built = envelope_and_bytes(letter)
    assert built is not None
    envelope_from, recipients, raw = built
    assert (envelope_from, recipients) == (ORG_ADDRESS, ["ben.okafor@parl.example"])
    head = raw.split(b"\r\n\r\n", 1)[0]
    head.decode("ascii")  # RFC 2047 words, not raw UTF-8
    assert b"=?utf-8?" in head


def test_the_body_holds_the_letter_the_message_the_name_the_postal_code_and_the_place():
    letter = messages.letter_message(letter_id=1, supporter=supporter(), target=MP)
    html = str(letter.alternatives[0][0])  # type: ignore[index]
    for part in (str(letter.body), html):
        for expected in ("Please support binding rules.", "My cousin works near the mine.", "Ana Quispe", "K1A 0A6"):
            assert expected in part
        assert "Rideau North, ON" in part


def test_nothing_in_a_letter_tracks_the_target():
    letter = messages.letter_message(letter_id=1, supporter=supporter(message="See https://example.org/x"), target=MP)
    html = str(letter.alternatives[0][0])  # type: ignore[index]
    assert "<img" not in html and "<a " not in html  # no pixel, no rewritten (or any) link
    assert "List-Unsubscribe" not in letter.extra_headers
    assert letter.track_opens is False and letter.track_clicks is False  # type: ignore[attr-defined]
    for message in both_serialisations(letter):
        assert message["List-Unsubscribe"] is None and message["List-Unsubscribe-Post"] is None


def test_html_in_what_the_supporter_wrote_is_shown_as_text():
    letter = messages.letter_message(letter_id=1, supporter=supporter(message="<script>x()</script>"), target=MP)
    html = str(letter.alternatives[0][0])  # type: ignore[index]
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_in_test_mode_the_letter_goes_to_the_test_address_and_says_so():
    letter = messages.letter_message(letter_id=1, supporter=supporter(), target=MP, test_to="staff@example.org")
    assert letter.to == ["staff@example.org"]
    assert letter.subject == "[TEST] Binding rules for mining companies"
    assert "ben.okafor@parl.example" in str(letter.body) and "TEST MODE" in str(letter.body)


def test_a_letter_is_written_in_the_targets_language():
    french_mp = messages.Recipient(name="Chloé Roy", email="chloe.roy@parl.example", language="fr")
    letter = messages.letter_message(letter_id=1, supporter=supporter(), target=french_mp, test_to="s@example.org")
    assert letter.subject.startswith("[TEST]") or letter.subject.startswith("[ESSAI]")
    assert "Ana Quispe" in str(letter.body)


def test_an_address_no_header_can_hold_is_refused_when_the_message_is_built():
    with pytest.raises(ValueError):
        messages.letter_message(letter_id=1, supporter=supporter(email="not an address"), target=MP)


def test_a_digest_lists_each_text_once_with_everyone_who_sent_it():
    same = [supporter(f"Person {n}", email=f"p{n}@example.org", message="") for n in range(3)]
    edited = supporter("Rosa Edit", email="rosa@example.org", body="My own words entirely.")
    digest = messages.digest_message(digest_id=3, action_title="Mining rules", target=MP, supporters=[*same, edited])
    text = str(digest.body)
    assert text.count("Please support binding rules.") == 1
    assert text.count("My own words entirely.") == 1
    for n in range(3):
        assert f"Person {n} <p{n}@example.org>, K1A 0A6, Rideau North, ON" in text
    assert digest.subject == "4 letters from constituents: Mining rules"
    message = both_serialisations(digest)[0]
    sender = single_address(message, "From")
    assert (sender.display_name, sender.addr_spec) == (settings.TOCSIN_ORG_NAME, ORG_ADDRESS)
    assert message["Reply-To"] is None and message["List-Unsubscribe"] is None
