"""A letter (or a day's digest) as the email a decision-maker receives.

``From: "Ana Quispe via <organisation>" <the address campaigns are sent from>``
and ``Reply-To: Ana``: the organisation's own domain signs the message, so
DMARC passes, and the target's answer reaches the supporter. Never the
supporter's address in From: that fails DMARC at every receiver that checks.

Addresses are built with ``email.headerregistry.Address`` from one-line
text (a name with a line break, quotes, commas or accents is quoted or
RFC 2047-encoded, never spliced into a header); the serialisers (campaigns'
``mime`` or Django's) refuse a newline in any header as a last guard.
Nothing here tracks the reader: no pixel, no rewritten links, no
List-Unsubscribe (a target is not a subscriber), and the provider's own
tracking is turned off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.headerregistry import Address
from email.utils import make_msgid, parseaddr
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext


@dataclass(frozen=True)
class Supporter:
    """What a letter says about the person who sent it, and what they wrote."""

    name: str
    email: str
    postal_code: str
    place: str  # the city the supporter gave, else their district and province, when known
    message: str
    subject: str
    body: str
    language: str = ""


@dataclass(frozen=True)
class Recipient:
    name: str
    email: str
    language: str = ""


@dataclass
class DigestGroup:
    subject: str
    body: str
    signers: list[Supporter] = field(default_factory=list)


def one_line(text: Any) -> str:
    """Whitespace (line breaks included) collapsed to single spaces: header-safe text."""
    return " ".join(str(text or "").split())


def place_of(district_name: str | None, province: str | None) -> str:
    return ", ".join(part for part in (one_line(district_name), one_line(province)) if part)


@lru_cache(maxsize=8)
def _sender(from_setting: str) -> str:
    return parseaddr(from_setting)[1]


def sender_address() -> str:
    """The organisation's own address: the one campaigns are sent from."""
    return _sender(settings.DEFAULT_FROM_EMAIL)


def mailbox(name: str, address: str) -> str:
    """``"Name" <address>``, quoted as RFC 5322 wants; ValueError for an address that is not one."""
    return str(Address(display_name=one_line(name), addr_spec=address))


def from_supporter(name: str) -> str:
    """``"<supporter> via <organisation>" <organisation's address>``."""
    return mailbox(f"{one_line(name)} via {one_line(settings.TOCSIN_ORG_NAME)}", sender_address())


def language_for(*candidates: str) -> str:
    codes = {code for code, _label in settings.LANGUAGES}
    for candidate in candidates:
        if candidate in codes:
            return candidate
    return settings.LANGUAGE_CODE


def _build(
    *, subject: str, to: str, from_email: str, context: dict[str, Any], template: str, message_id: str
) -> EmailMultiAlternatives:
    text = render_to_string(f"emails/{template}-body.txt", context)
    html = render_to_string(f"emails/{template}-body.html", context)
    message = EmailMultiAlternatives(subject=one_line(subject), body=text, from_email=from_email, to=[to])
    message.attach_alternative(html, "text/html")
    message.extra_headers["Message-ID"] = message_id
    # Anymail: the provider must not add its own open pixel or rewrite links either.
    message.track_opens = False  # type: ignore[attr-defined]
    message.track_clicks = False  # type: ignore[attr-defined]
    return message


def _message_id(kind: str, pk: int) -> str:
    # Ours, so that the ledger knows it before the server answers.
    return make_msgid(idstring=f"tocsin.{kind}.{pk}", domain=sender_address().rpartition("@")[2] or "tocsin.invalid")


def letter_message(
    *, letter_id: int, supporter: Supporter, target: Recipient, test_to: str = ""
) -> EmailMultiAlternatives:
    """One supporter's letter to one target (or, in test mode, to the test address)."""
    language = language_for(target.language, supporter.language)
    with translation.override(language):
        subject = one_line(supporter.subject)
        if test_to:
            subject = _("[TEST] %(subject)s") % {"subject": subject}
        context = {
            "subject": subject,
            "body": supporter.body,
            "message": supporter.message,
            "name": one_line(supporter.name),
            "postal_code": supporter.postal_code,
            "place": supporter.place,
            "target": target,
            "test_to": test_to,
            "org_name": settings.TOCSIN_ORG_NAME,
            "language": language,
        }
        message = _build(
            subject=subject,
            to=test_to or mailbox(target.name, target.email),
            from_email=from_supporter(supporter.name),
            context=context,
            template="letter",
            message_id=_message_id("letter", letter_id),
        )
    message.reply_to = [mailbox(supporter.name, supporter.email)]
    return message


def group_letters(supporters: list[Supporter]) -> list[DigestGroup]:
    """The day's letters by text: a letter most people sent as written is shown once, with its signers."""
    groups: dict[tuple[str, str], DigestGroup] = {}
    for supporter in supporters:
        key = (one_line(supporter.subject), supporter.body.strip())
        groups.setdefault(key, DigestGroup(subject=key[0], body=key[1])).signers.append(supporter)
    return sorted(groups.values(), key=lambda group: -len(group.signers))


def digest_message(
    *,
    digest_id: int,
    action_title: str,
    target: Recipient,
    supporters: list[Supporter],
    test_to: str = "",
    sample_letters: bool = False,
) -> EmailMultiAlternatives:
    """One email to one target listing the day's letters of one action.

    With ``test_to``, the same email as a test for staff (``proofs``): to that
    address, ``[TEST]`` in the subject, saying whose digest it shows and, with
    ``sample_letters``, that its letters are made up.
    """
    language = language_for(target.language)
    count = len(supporters)
    with translation.override(language):
        subject = ngettext(
            "%(count)d letter from constituents: %(title)s",
            "%(count)d letters from constituents: %(title)s",
            count,
        ) % {"count": count, "title": one_line(action_title)}
        if test_to:
            subject = _("[TEST] %(subject)s") % {"subject": subject}
        context = {
            "test_to": test_to,
            "sample_letters": sample_letters,
            "subject": subject,
            "action_title": one_line(action_title),
            "count": count,
            "groups": group_letters(supporters),
            "target": target,
            "org_name": settings.TOCSIN_ORG_NAME,
            "language": language,
        }
        return _build(
            subject=subject,
            to=test_to or mailbox(target.name, target.email),
            from_email=mailbox(settings.TOCSIN_ORG_NAME, sender_address()),
            context=context,
            template="letter-digest",
            message_id=_message_id("test-digest" if test_to else "digest", digest_id),
        )
