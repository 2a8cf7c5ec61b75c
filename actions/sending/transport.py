"""One message through one email connection, with campaigns' transports and outcome classes.

The SMTP path is the sending engine's: ``campaigns.sending.mime`` writes the
bytes and ``campaigns.sending.smtp`` pipelines MAIL, RCPT and DATA; an
Anymail backend gets the message itself. Errors are sorted exactly as for
campaigns (``classify``): a refusal before the server's final 250 is a
retry, a permanent refusal is a failure, an HTTP answer that never came is
unknown (never re-sent blindly).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.core.mail import get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend

from campaigns.sending import smtp
from campaigns.sending.engine import Outcome, classify
from campaigns.sending.mime import envelope_and_bytes

logger = logging.getLogger(__name__)

SENT, FAILED, RETRY, UNKNOWN = Outcome.SENT, Outcome.FAILED, Outcome.RETRY, Outcome.UNKNOWN


@dataclass(frozen=True)
class Verdict:
    outcome: str
    message_id: str = ""
    error: str = ""


def open_connection() -> Any:
    """The configured email backend (SMTP from EMAIL_URL, or the ESP's), not yet connected."""
    return get_connection(fail_silently=False)


def close_quietly(connection: Any) -> None:
    try:
        connection.close()
    except Exception:  # a dead SMTP connection raises on QUIT; nothing is lost
        logger.debug("closing the email connection failed", exc_info=True)


def failure(exc: BaseException) -> Verdict:
    classified = classify(exc)
    return Verdict(classified.outcome, error=classified.error)


def send(connection: Any, message: Any) -> Verdict:
    """Send ``message``; what became of it. Never raises for a sending error."""
    message_id = str(message.extra_headers.get("Message-ID", ""))
    try:
        built = envelope_and_bytes(message) if isinstance(connection, SMTPBackend) else None
        if built is not None:
            if connection.connection is None:
                connection.open()
            smtp.send(connection.connection, *built)
        else:
            connection.send_messages([message])
    except Exception as exc:
        return failure(exc)
    return _provider_says(message, message_id)


def _provider_says(message: Any, fallback_id: str) -> Verdict:
    """What an Anymail backend said about the recipient; SMTP just has our Message-ID."""
    status = getattr(message, "anymail_status", None)
    if status is None:
        return Verdict(SENT, fallback_id)
    recipients = status.recipients or {}
    recipient = next(iter(recipients.values()), None) if len(recipients) == 1 else None
    if recipient is not None and recipient.status in {"rejected", "invalid"}:
        return Verdict(FAILED, error=f"provider said {recipient.status}")
    message_id = (recipient.message_id if recipient is not None else None) or status.message_id or fallback_id
    return Verdict(SENT, str(message_id or ""))
