"""Provider payloads and texts without personal data, trimmed to a storable size.

Only a hash of the recipient's address is kept on an event, and the raw
payload is stored without address fields: the link to the delivery says who
it was, and GDPR erasure must not have to hunt for addresses in JSON.
"""

from __future__ import annotations

import math
import re
from typing import Any

from subscribers.text import clean_text

# Keys whose values are (or contain) addresses, names or tracking data about
# the person; dropped from the stored payload at any depth.
_PERSONAL_KEYS = {
    "email",
    "recipient",
    "recipients",
    "to",
    "from",
    "cc",
    "bcc",
    "reply-to",
    "replyto",
    "sender",
    "source",
    "destination",
    "emailaddress",
    "bouncedrecipients",
    "complainedrecipients",
    "rcpt_to",
    "raw_rcpt_to",
    "headers",
    "commonheaders",
    "ip",
    "ipaddress",
    "ip_address",
    "client-ip",
    "useragent",
    "user_agent",
    "user-agent",
    "client-info",
    "geolocation",
    "geo",
    "subject",
    "signature",
    "token",
    "x-mailin-custom",
    "sending_ip",
}
# What cannot be part of an address in a mail server's reply.
_SEPARATORS = r"\s<>\"'(),;:"
# An address: a run of other characters with an @ inside. The lookbehind lets a
# match start only where a run starts; without it a long run with no @ was
# scanned again from each of its positions (quadratic: 100 KB took 15 s).
ADDRESS_RE = re.compile(rf"(?<![^{_SEPARATORS}])[^{_SEPARATORS}]+@[^{_SEPARATORS}]+")
_LAST_RUN_RE = re.compile(rf"(?<![^{_SEPARATORS}])[^{_SEPARATORS}]+\Z")
_MAX_STRING = 500
# How much of one text is scrubbed at most: far more than is kept, because
# "[address]" is shorter than most addresses it replaces.
MAX_SCRUBBED = 20 * _MAX_STRING
_MAX_ITEMS = 25
_MAX_DEPTH = 6
# JSON numbers beyond 64 bits are kept as text: not every JSON reader takes them.
_MAX_INT = 2**63 - 1
_MAX_ADDRESS = 254


def scrub_text(text: Any, limit: int = _MAX_STRING) -> str:
    """Storable text without addresses: reasons from mail servers quote them (``550 <jane@x.org> unknown``)."""
    if not text:
        return ""
    text = str(text)
    cut = len(text) > MAX_SCRUBBED
    text = clean_text(text[:MAX_SCRUBBED])
    if cut:
        last_run = _LAST_RUN_RE.search(text)
        if last_run:
            # The cut may have gone through an address, which half cut no
            # longer looks like one ("jane.doe" without "@example.org"): drop
            # what could have been part of it.
            text = text[: max(last_run.start(), len(text) - _MAX_ADDRESS)]
    return ADDRESS_RE.sub("[address]", text)[:limit]


def scrub_payload(value: Any, depth: int = 0) -> Any:
    """The provider's payload without personal data, trimmed to a sane size."""
    if depth > _MAX_DEPTH:
        return None
    if isinstance(value, dict):
        return {
            scrub_text(key, limit=100): scrub_payload(item, depth + 1)
            for key, item in list(value.items())[:50]
            if str(key).lower() not in _PERSONAL_KEYS
        }
    if isinstance(value, (list, tuple)):
        return [scrub_payload(item, depth + 1) for item in list(value)[:_MAX_ITEMS]]
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if -_MAX_INT <= value <= _MAX_INT else scrub_text(value, limit=100)
    if isinstance(value, float):
        # NaN and Infinity are not JSON: the database refuses them.
        return value if math.isfinite(value) else None
    # QueryDicts (Mailgun legacy, Mailjet form posts) and anything exotic.
    if hasattr(value, "lists"):
        return scrub_payload({key: values[-1] if values else "" for key, values in value.lists()}, depth)
    return scrub_text(repr(value))
