"""One message through one email connection: campaigns' transport and outcome classes, for letters.

``EmailBackendTransport`` is the sending engine's own: for SMTP the bytes come
from ``campaigns.sending.mime`` and go out pipelined; an Anymail backend gets
the message itself. Errors are sorted exactly as for campaigns
(``outcomes.classify``): a refusal before the server's final 250 is a retry,
a permanent refusal is a failure, an HTTP answer that never came is unknown
(never re-sent blindly). Over SMTP each letter and digest leaves with its
own VERP envelope sender, of a kind of ours (``actions/bounces.py``). The
transport never touches a ledger: letters have their own (``claims``).
"""

from __future__ import annotations

from email.utils import parseaddr
from typing import Any

from campaigns.sending import outcomes
from campaigns.sending.outcomes import Classified, Outcome
from campaigns.sending.transports.email_backend import EmailBackendTransport, Outgoing

SENT, FAILED, RETRY, UNKNOWN = Outcome.SENT, Outcome.FAILED, Outcome.RETRY, Outcome.UNKNOWN

# What became of one message: its outcome, the provider's message id when sent, and why otherwise.
Verdict = Classified


def open_connection() -> EmailBackendTransport:
    """The configured email backend (SMTP from EMAIL_URL, or the ESP's), connected on first use."""
    return EmailBackendTransport()


def close_quietly(connection: Any) -> None:
    connection.close()  # EmailBackendTransport.close never raises


def failure(exc: BaseException) -> Verdict:
    return outcomes.classify(exc)


def send(connection: EmailBackendTransport, message: Any, *, kind: str, row_id: int) -> Verdict:
    """Send ``message``, the letter or digest ``row_id`` of ``kind``; what became of it. Never raises for a send error.

    Over SMTP its envelope sender is its own VERP address (``bounces+<kind>-<token>@…``),
    so a bounce names it; the From and Reply-To headers stay as ``messages`` wrote them.
    """
    # The bare address: Anymail reports each recipient under it.
    to = parseaddr(message.to[0])[1] if message.to else ""
    outgoing = Outgoing(message, to, str(message.extra_headers.get("Message-ID", "")), row_id, kind)
    return connection.send([outgoing])[0]
