"""Standard Webhooks (https://www.standardwebhooks.com/): the secret and the three headers.

The signature is the ``standardwebhooks`` package's own ``Webhook.sign``, the
reference implementation receivers verify with: HMAC-SHA256 over
``<webhook-id>.<webhook-timestamp>.<body>`` with the secret's bytes.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

WHSEC_PREFIX = "whsec_"
USER_AGENT = "Tocsin-Webhooks/1.0"


def new_secret() -> str:
    return WHSEC_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def new_message_id() -> str:
    return "msg_" + secrets.token_hex(16)


def headers(*, signing_secrets: Sequence[str], message_id: str, body: str, when: datetime) -> dict[str, str]:
    """The headers of one attempt; ``when`` is the attempt's time (a retry is signed afresh).

    One ``v1,<sig>`` per secret, separated by spaces (the spec's rotation): a
    receiver accepts the message when any of them verifies with its secret.
    """
    # The package reads a naive-looking clock: hand it UTC, or it shifts the instant.
    when = when.astimezone(UTC)
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": " ".join(Webhook(secret).sign(message_id, when, body) for secret in signing_secrets),
    }
