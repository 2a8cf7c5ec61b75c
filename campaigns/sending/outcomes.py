"""What happened to one message: sent, failed, retry or unknown — and why.

Every transport reports through ``Classified``; the ledger turns an outcome
into a Delivery status with ``DELIVERY_STATUS`` (the one table of it). The
rule behind each verdict is the same for every transport: a message counts
as sent only when the server took responsibility for it (SMTP's final 250,
a provider's "accepted"); a refusal before that is "not sent" and may be
retried; an answer lost after the request went out is "unknown", shown to
staff and never re-sent blindly.
"""

from __future__ import annotations

import re
import smtplib
import socket
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

import requests
from anymail.exceptions import AnymailAPIError, AnymailInvalidAddress, AnymailRecipientsRefused

from campaigns.models import Delivery


class Outcome:
    SENT = "sent"
    FAILED = "failed"  # permanent for this recipient
    RETRY = "retry"  # transient: back to the queue, the batch retries later
    UNKNOWN = "unknown"  # the provider may or may not have taken it


# What each outcome makes of the delivery's row in the ledger.
DELIVERY_STATUS = {
    Outcome.SENT: Delivery.Status.SENT,
    Outcome.FAILED: Delivery.Status.FAILED,
    Outcome.UNKNOWN: Delivery.Status.UNKNOWN,
    Outcome.RETRY: Delivery.Status.QUEUED,
}


@dataclass
class Classified:
    """One message's verdict: its outcome, the provider's message id when sent, and why otherwise."""

    outcome: str
    suppress: bool = False  # the address itself was refused: never mail it again
    error: str = ""
    message_id: str = ""


def describe(exc: BaseException) -> str:
    try:
        text = str(exc)
    except Exception:  # an exception whose __str__ fails (a half-built provider error)
        text = repr(exc.args)
    return f"{type(exc).__name__}: {text}"[:500]


def classify(exc: BaseException) -> Classified:
    """Sort a sending error into retry / failed / unknown.

    SMTP servers take responsibility for a message only with their final 250
    reply, so a refusal, a disconnect or a timeout before it means "not sent":
    retry. An HTTP call that timed out while reading the answer may have been
    accepted: unknown, never re-sent blindly.
    """
    error = describe(exc)
    if isinstance(exc, AnymailRecipientsRefused | AnymailInvalidAddress):
        return Classified(Outcome.FAILED, suppress=True, error=error)
    if isinstance(exc, AnymailAPIError):
        return _provider_error(exc, error)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        if codes and all(code >= 500 for code in codes):
            return Classified(Outcome.FAILED, suppress=True, error=error)
        return Classified(Outcome.RETRY, error=error)
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return Classified(Outcome.RETRY, error=error)  # our configuration, not the recipient: pause after N
    if isinstance(exc, smtplib.SMTPResponseException):
        if 400 <= exc.smtp_code < 500:
            return Classified(Outcome.RETRY, error=error)
        return Classified(Outcome.FAILED, error=error)
    if isinstance(exc, smtplib.SMTPException | OSError | socket.timeout):
        return Classified(Outcome.RETRY, error=error)
    # A bug (a template error for one recipient, say): record it, never loop on it.
    return Classified(Outcome.FAILED, error=error)


def _provider_error(exc: AnymailAPIError, error: str) -> Classified:
    code = getattr(exc, "status_code", None)
    if code is None:
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, requests.Timeout) and not isinstance(cause, requests.ConnectTimeout):
            return Classified(Outcome.UNKNOWN, error=error)
        return Classified(Outcome.RETRY, error=error)
    if code in (408, 429) or code >= 500:
        return Classified(Outcome.RETRY, error=error)
    return Classified(Outcome.FAILED, error=error)


def after_send(message: Any, email: str, fallback_id: str) -> Classified:
    """What an Anymail backend said about this recipient once it returned; SMTP just has our Message-ID."""
    status = getattr(message, "anymail_status", None)
    if status is None:
        return Classified(Outcome.SENT, message_id=fallback_id)
    recipient = (status.recipients or {}).get(email)
    if recipient is not None and recipient.status in {"rejected", "invalid"}:
        return Classified(Outcome.FAILED, suppress=True, error=f"provider said {recipient.status}")
    message_id = (recipient.message_id if recipient is not None else None) or status.message_id or fallback_id
    return Classified(Outcome.SENT, message_id=str(message_id or ""))


# --- a provider's batch call (transports/postmark.py) ------------------------------------------


def lost_call(exc: requests.RequestException, *, provider: str) -> Classified:
    """A batch call that got no answer: retry if nothing left this machine, else unknown."""
    error = f"{provider} batch call: {type(exc).__name__}: {exc}"[:500]
    # Nothing left this machine when the connection could not be made: safe to retry.
    if isinstance(exc, requests.ConnectTimeout) or _refused(exc):
        return Classified(Outcome.RETRY, error=error)
    # Otherwise the request may have reached the provider and been accepted before the answer was lost.
    return Classified(Outcome.UNKNOWN, error=error)


def _refused(exc: BaseException) -> bool:
    from urllib3.exceptions import NewConnectionError

    seen: BaseException | None = exc
    for _depth in range(6):  # requests wraps urllib3's MaxRetryError, which wraps the cause
        if seen is None:
            return False
        if isinstance(seen, NewConnectionError | ConnectionRefusedError):
            return True
        reason = getattr(seen, "reason", None)
        if isinstance(reason, BaseException):
            seen = reason
            continue
        args = getattr(seen, "args", ())
        seen = args[0] if args and isinstance(args[0], BaseException) else (seen.__cause__ or seen.__context__)
    return False


# Postmark says "Invalid 'To' address: 'x'." or "Error parsing 'To': Illegal email …" for a bad
# recipient (the same test as Anymail's Postmark backend).
_RECIPIENT_ERROR = re.compile(r"^(Invalid|Error\s+parsing)\s+'(To|Cc|Bcc)'", re.IGNORECASE)
_INACTIVE = re.compile(r"inactive addresses:\s*(.*?)\.\s*Inactive recipients", re.IGNORECASE | re.DOTALL)


def postmark_verdict(answer: Any, element: dict[str, Any]) -> Classified | None:
    """One message's answer in Postmark's batch reply; None when it cannot belong to this message.

    ``ErrorCode`` 0 → sent, with its ``MessageID``; 406 (inactive recipient)
    and 300 about the ``To`` address → failed and suppressed; 300 about
    anything else → failed (our message is wrong); any other code → retry
    (only code 0 sends).
    """
    if not isinstance(answer, dict):
        return None
    code = answer.get("ErrorCode", 0)  # missing when Postmark only delays delivery (Anymail's note)
    text = str(answer.get("Message", ""))
    ours = parseaddr(str(element.get("To", "")))[1].lower()
    if code == 0:
        message_id = answer.get("MessageID")
        to = parseaddr(str(answer.get("To", element.get("To", ""))))[1].lower()
        if not message_id or (to and ours and to != ours):
            return None
        inactive = _INACTIVE.search(text)
        if inactive and ours in {a.strip().lower() for a in inactive.group(1).split(",")}:
            return Classified(Outcome.FAILED, suppress=True, error=f"Postmark: {text}"[:500])
        return Classified(Outcome.SENT, message_id=str(message_id))
    error = f"Postmark ErrorCode {code}: {text}"[:500]
    if code == 406:  # inactive recipient: a hard bounce or a spam complaint before
        return Classified(Outcome.FAILED, suppress=True, error=error)
    if code == 300:
        return Classified(Outcome.FAILED, suppress=bool(_RECIPIENT_ERROR.match(text)), error=error)
    # Any other code (405 out of credits, 429, …) means this message was not sent: try again later.
    return Classified(Outcome.RETRY, error=error)
