"""VERP: each SMTP delivery's own envelope sender, ``bounces+<token>@<bounce domain>``.

A mail server returns a bounce to the envelope sender (MAIL FROM), so the
address a bounce arrives at names the delivery, whatever the bounce's body
says (forwarded addresses, rewritten recipients, a report in a language no
parser knows). The token is the delivery id in base32 and the first 64 bits
of an HMAC of it under ``SECRET_KEY``: a forged bounce naming a delivery
cannot carry a valid token, so it changes nothing. Lower-case base32 only,
because some mail servers fold the local part's case.

Apps above campaigns send mail of their own with a ledger of their own
(actions: letters and digests to targets). Their tokens carry a *kind*,
``<kind>-<id>-<mac>``, and the MAC covers the kind: a letter's token is never
read as a campaign delivery's, nor the other way round, nor a letter's as a
digest's. A campaign's token keeps its old shape and MAC, so bounces of mail
sent before kinds existed still match. ``ingest`` hands a kind's bounce to the
handler its app registered (``returns.register``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from functools import lru_cache
from typing import NamedTuple

from django.conf import settings
from django.utils.encoding import force_bytes

PREFIX = "bounces"
CAMPAIGN = ""  # a campaign's Delivery: the kind without a name, tokens as they always were
_MAC_BYTES = 8
_KIND = re.compile(r"[a-z]{1,12}")
# bounces+<id>-<mac>@ or bounces+<kind>-<id>-<mac>@ anywhere in a header value; the @ keeps
# "bounces+" inside a longer word out. The hyphens' count tells the two shapes apart.
TOKEN_IN_ADDRESS = re.compile(rf"\b{PREFIX}\+((?:[a-z]{{1,12}}-)?[a-z2-7]{{1,13}}-[a-z2-7]{{13}})@", re.IGNORECASE)


class Returned(NamedTuple):
    """What a VERP address names: a row of ``kind`` (CAMPAIGN: a campaign's Delivery)."""

    kind: str
    row_id: int


@lru_cache(maxsize=4)
def _key(secret: str) -> bytes:
    return hashlib.sha256(b"tocsin.bounces.verp" + force_bytes(secret)).digest()


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=").lower()


def _mac(delivery_id: int, kind: str = CAMPAIGN) -> str:
    # A campaign's MAC signs the id's digits alone (as before kinds); another kind's signs
    # "<kind>:<id>", which no campaign's message can equal.
    signed = f"{kind}:{delivery_id}" if kind else str(delivery_id)
    digest = hmac.new(_key(settings.SECRET_KEY), signed.encode("ascii"), hashlib.sha256).digest()
    return _b32(digest[:_MAC_BYTES])


def _check_kind(kind: str) -> None:
    if kind and not _KIND.fullmatch(kind):
        raise ValueError("a kind is one to twelve lower-case letters")


def token_for(delivery_id: int, *, kind: str = CAMPAIGN) -> str:
    if delivery_id <= 0:
        raise ValueError("a delivery id is positive")
    _check_kind(kind)
    raw = delivery_id.to_bytes((delivery_id.bit_length() + 7) // 8, "big")
    token = f"{_b32(raw)}-{_mac(delivery_id, kind)}"
    return f"{kind}-{token}" if kind else token


def delivery_id_of(token: str, *, kind: str = CAMPAIGN) -> int | None:
    """The row of ``kind`` a token names, or None when it is malformed, of another kind, or its signature is wrong."""
    token = token.lower()
    if kind:
        named, _, token = token.partition("-")
        if named != kind:
            return None
    head, _, mac = token.partition("-")
    if not head or not mac or len(head) > 13 or "-" in mac:
        return None
    try:
        raw = base64.b32decode(head.upper() + "=" * (-len(head) % 8))
    except ValueError:
        return None
    delivery_id = int.from_bytes(raw, "big")
    if not 0 < delivery_id < 2**63 or not hmac.compare_digest(mac, _mac(delivery_id, kind)):
        return None
    return delivery_id


def bounce_domain(envelope_from: str) -> str:
    """``TOCSIN_BOUNCE_DOMAIN``, or the domain of the address the message is sent from."""
    return settings.TOCSIN_BOUNCE_DOMAIN or envelope_from.rpartition("@")[2] or "tocsin.invalid"


def envelope_sender(*, delivery_id: int, envelope_from: str, kind: str = CAMPAIGN) -> str:
    """The MAIL FROM address for one row of ``kind`` sent from ``envelope_from`` (a bare address)."""
    return f"{PREFIX}+{token_for(delivery_id, kind=kind)}@{bounce_domain(envelope_from)}"


def returned_in(text: str) -> list[Returned]:
    """Every validly signed row (of any kind) named by a VERP address in ``text``, in order, without repeats."""
    found: list[Returned] = []
    for match in TOKEN_IN_ADDRESS.finditer(text):
        token = match.group(1).lower()
        kind = token.partition("-")[0] if token.count("-") == 2 else CAMPAIGN
        row_id = delivery_id_of(token, kind=kind)
        if row_id is not None and Returned(kind, row_id) not in found:
            found.append(Returned(kind, row_id))
    return found


def delivery_ids_in(text: str) -> list[int]:
    """Every validly signed campaign delivery named by a VERP address in ``text``, in order, without repeats."""
    return [row_id for kind, row_id in returned_in(text) if kind == CAMPAIGN]
