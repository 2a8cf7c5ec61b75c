"""One returned message -> what it says: which deliveries (by VERP token) and what happened.

Three shapes, tried in order:

- an ARF complaint report (RFC 5965: ``multipart/report; report-type=feedback-report``),
  which a mailbox provider's feedback loop sends when a reader marks the message as spam;
- a delivery status notification (RFC 3464: a ``message/delivery-status`` part), what
  Postfix, Gmail, Microsoft 365 and most servers send: ``Action: failed`` with a 5.x.x
  status is a hard bounce, with 4.x.x (a message that expired in a queue) a soft one,
  ``Action: delayed`` a deferral;
- anything else goes to flufl.bounce's detectors, which know the older free-text
  formats (Exim's default, qmail, old Exchange, Yahoo…).

Which delivery (or letter, digest: a row of another kind) it is about comes only
from a signed VERP token (``campaigns.events.bounces.verp``): first from the headers the receiving server
adds (Delivered-To, X-Original-To…), then from anywhere in the report (the
returned message's Return-Path, ARF's Original-Mail-From). A recipient address in
the report is kept as text for the reason, never used to find anyone.
"""

from __future__ import annotations

import email
import email.policy
import logging
from dataclasses import dataclass, field
from email.message import Message
from email.utils import parseaddr
from typing import Literal

import flufl.bounce

from campaigns.events.bounces import verp

logger = logging.getLogger(__name__)
# flufl.bounce logs each of its seventeen detectors at INFO, per message, and a
# detector's exception with its traceback before raising it: we log our own line.
logging.getLogger("flufl.bounce").setLevel(logging.CRITICAL)

Verdict = Literal["complaint", "hard", "soft", "delayed"]
# The strongest finding wins when a report says several things.
_SEVERITY: dict[str, int] = {"delayed": 0, "soft": 1, "hard": 2, "complaint": 3}
_ENVELOPE_HEADERS = ["delivered-to", "x-original-to", "envelope-to", "x-envelope-to", "to"]
# ARF feedback types that are not a complaint about our message.
_NOT_COMPLAINTS = {"not-spam"}
_MAX_TEXT = 1_000_000  # characters of one part searched for a token


@dataclass
class Report:
    """What one returned message says; ``verdict`` None means it is not a bounce or complaint.

    ``returned`` is every row a signed VERP address in it names, of any kind,
    in the order found (envelope headers first); ``delivery_ids`` the
    campaign deliveries among them.
    """

    returned: list[verp.Returned]
    verdict: Verdict | None = None
    status: str = ""
    reason: str = ""
    recipient: str = ""
    message_id: str = ""
    date: str = ""
    shape: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def delivery_ids(self) -> list[int]:
        return [row_id for kind, row_id in self.returned if kind == verp.CAMPAIGN]


def parse(raw: bytes) -> Report:
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    report = Report(
        returned=_returned(message),
        message_id=str(message.get("Message-ID", "") or "").strip(),
        date=str(message.get("Date", "") or ""),
    )
    if message.defects and not message.keys():
        report.problems.append("not an email message")
        return report
    if not report.returned:
        return report  # about nothing of ours: not worth reading further
    if not (_read_feedback(message, report) or _read_dsn(message, report)):
        _read_other(message, report)
    return report


def _returned(message: Message) -> list[verp.Returned]:
    found: list[verp.Returned] = []
    texts = [str(value) for name in _ENVELOPE_HEADERS for value in message.get_all(name, [])]
    texts += list(_all_texts(message))
    for text in texts:
        for returned in verp.returned_in(text):
            if returned not in found:
                found.append(returned)
    return found


def _all_texts(message: Message):  # type: ignore[no-untyped-def]
    """Every header value and every decoded text body of every part, nested messages included."""
    for part in message.walk():
        for value in part.values():
            yield str(value)
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            yield payload[:_MAX_TEXT].decode(part.get_content_charset() or "utf-8", errors="replace")


def _report_parts(message: Message, content_type: str) -> list[Message]:
    return [part for part in message.walk() if part.get_content_type() == content_type]


def _fields(part: Message) -> list[Message]:
    """The field blocks of a ``message/delivery-status`` or ``message/feedback-report`` part."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    if isinstance(payload, str):  # a parser that left it as text
        return [email.message_from_string(block) for block in payload.strip().split("\n\n") if block.strip()]
    return []


def _read_feedback(message: Message, report: Report) -> bool:
    parts = _report_parts(message, "message/feedback-report")
    if not parts:
        return False
    report.shape = "arf"
    for block in _fields(parts[0]):
        feedback_type = str(block.get("Feedback-Type", "") or "").strip().lower()
        if feedback_type:
            if feedback_type not in _NOT_COMPLAINTS:
                report.verdict = "complaint"
                report.reason = f"complaint ({feedback_type})"
            report.recipient = _address(block.get("Original-Rcpt-To", ""))
            return True
    report.problems.append("feedback report without a Feedback-Type")
    return True


def _read_dsn(message: Message, report: Report) -> bool:
    parts = _report_parts(message, "message/delivery-status")
    if not parts:
        return False
    report.shape = "dsn"
    for block in _fields(parts[0])[1:]:  # the first block describes the message, the rest each recipient
        verdict = _dsn_verdict(block)
        if verdict is None or (report.verdict and _SEVERITY[verdict] <= _SEVERITY[report.verdict]):
            continue
        report.verdict = verdict
        report.status = _one_line(block.get("Status", ""))[:32]
        diagnostic = _one_line(block.get("Diagnostic-Code", "")).partition(";")[2].strip()
        report.reason = diagnostic or f"status {report.status}"
        report.recipient = _address(block.get("Final-Recipient", "") or block.get("Original-Recipient", ""))
    return True


def _dsn_verdict(block: Message) -> Verdict | None:
    action = _one_line(block.get("Action", "")).lower()
    status = _one_line(block.get("Status", ""))
    if action == "delayed":
        return "delayed"
    if action != "failed":
        return None  # delivered, relayed, expanded: nothing went wrong
    if status.startswith("4"):
        return "soft"
    if not status:  # no status: the server's reply code decides, else it is final
        code = _one_line(block.get("Diagnostic-Code", "")).partition(";")[2].strip()[:1]
        return "soft" if code == "4" else "hard"
    return "hard"


def _read_other(message: Message, report: Report) -> None:
    try:
        temporary, permanent = flufl.bounce.all_failures(message)
    except Exception as exc:  # a detector choking on odd input must not lose the message
        logger.warning("flufl.bounce could not read a returned message: %s", exc)
        report.problems.append("unreadable bounce")
        return
    if permanent or temporary:
        report.shape = "flufl"
        report.verdict = "hard" if permanent else "soft"
        addresses = sorted(permanent or temporary)
        report.recipient = addresses[0].decode("utf-8", errors="replace")
        report.reason = f"{'permanent' if permanent else 'temporary'} failure ({message.get('Subject', '')})"
        report.reason = _one_line(report.reason)


def _one_line(value: object) -> str:
    return " ".join(str(value or "").split())


def _address(value: object) -> str:
    """``rfc822; someone@example.org`` -> ``someone@example.org``."""
    text = _one_line(value)
    text = text.partition(";")[2].strip() if ";" in text else text
    return parseaddr(text)[1] or text
