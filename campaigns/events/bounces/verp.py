"""VERP: each SMTP delivery's own envelope sender, ``bounces+<token>@<bounce domain>``.

A mail server returns a bounce to the envelope sender (MAIL FROM), so the
address a bounce arrives at names the delivery, whatever the bounce's body
says (forwarded addresses, rewritten recipients, a report in a language no
parser knows). The token is the delivery id in base32 and the first 64 bits
of an HMAC of it under ``SECRET_KEY``: a forged bounce naming a delivery
cannot carry a valid token, so it changes nothing. Lower-case base32 only,
because some mail servers fold the local part's case.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from functools import lru_cache

from django.conf import settings
from django.utils.encoding import force_bytes

PREFIX = "bounces"
_MAC_BYTES = 8
# bounces+<id>-<mac>@ anywhere in a header value; the @ keeps "bounces+" inside a longer word out.
TOKEN_IN_ADDRESS = re.compile(rf"\b{PREFIX}\+([a-z2-7]{{1,13}}-[a-z2-7]{{13}})@", re.IGNORECASE)


@lru_cache(maxsize=4)
def _key(secret: str) -> bytes:
    return hashlib.sha256(b"tocsin.bounces.verp" + force_bytes(secret)).digest()


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=").lower()


def _mac(delivery_id: int) -> str:
    digest = hmac.new(_key(settings.SECRET_KEY), str(delivery_id).encode("ascii"), hashlib.sha256).digest()
    return _b32(digest[:_MAC_BYTES])


def token_for(delivery_id: int) -> str:
    if delivery_id <= 0:
        raise ValueError("a delivery id is positive")
    raw = delivery_id.to_bytes((delivery_id.bit_length() + 7) // 8, "big")
    return f"{_b32(raw)}-{_mac(delivery_id)}"


def delivery_id_of(token: str) -> int | None:
    """The delivery a token names, or None when it is malformed or its signature is wrong."""
    head, _, mac = token.lower().partition("-")
    if not head or not mac or len(head) > 13:
        return None
    try:
        raw = base64.b32decode(head.upper() + "=" * (-len(head) % 8))
    except ValueError:
        return None
    delivery_id = int.from_bytes(raw, "big")
    if not 0 < delivery_id < 2**63 or not hmac.compare_digest(mac, _mac(delivery_id)):
        return None
    return delivery_id


def bounce_domain(envelope_from: str) -> str:
    """``TOCSIN_BOUNCE_DOMAIN``, or the domain of the address the message is sent from."""
    return settings.TOCSIN_BOUNCE_DOMAIN or envelope_from.rpartition("@")[2] or "tocsin.invalid"


def envelope_sender(*, delivery_id: int, envelope_from: str) -> str:
    """The MAIL FROM address for one delivery sent from ``envelope_from`` (a bare address)."""
    return f"{PREFIX}+{token_for(delivery_id)}@{bounce_domain(envelope_from)}"


def delivery_ids_in(text: str) -> list[int]:
    """Every validly signed delivery named by a VERP address in ``text``, in order, without repeats."""
    found: list[int] = []
    for match in TOKEN_IN_ADDRESS.finditer(text):
        delivery_id = delivery_id_of(match.group(1))
        if delivery_id is not None and delivery_id not in found:
            found.append(delivery_id)
    return found
