"""One message per call through Django's configured email backend: SMTP, or any Anymail provider.

For Django's SMTP backend the message does not go through Django's own
serialiser and ``smtplib.sendmail``: its bytes come from
``campaigns/sending/mime.py`` and go out with two round trips instead of
four (``smtp.py``). Every other backend (Anymail's providers, the test
backends) gets ``send_messages([message])`` and reports through
``message.anymail_status``. A campaign's message the fast path does not
build (an attachment, text alone) still leaves Django's SMTP backend with its
VERP envelope sender (``with_bounce_address``).

We set the Message-ID ourselves before sending, so the ledger knows it even
for SMTP, where the server's answer does not say.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import make_msgid, parseaddr
from functools import lru_cache
from typing import Any

from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend

from campaigns.events.bounces import verp
from campaigns.sending import outcomes
from campaigns.sending.mime import envelope_and_bytes
from campaigns.sending.outcomes import Classified, Outcome
from campaigns.sending.transports import smtp

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Outgoing:
    message: EmailMultiAlternatives
    email: str  # the recipient, to find their answer in Anymail's status
    message_id: str  # ours: what the ledger records when the backend names none
    # The ledger row whose bounces come back to an address naming it (VERP): a campaign's
    # Delivery, or (``bounce_kind`` set) a row of an app above, e.g. a letter to a target.
    # None: the envelope sender is the From address.
    delivery_id: int | None = None
    bounce_kind: str = verp.CAMPAIGN


@lru_cache(maxsize=64)
def _domain_of(from_email: str) -> str:
    # parseaddr is pure Python and slow; a campaign has one sender.
    return parseaddr(from_email)[1].rpartition("@")[2] or "tocsin.invalid"


def message_id(message: EmailMultiAlternatives, *, campaign_id: int, delivery_id: int) -> str:
    """Our own Message-ID for ``message`` (kept if it has one), so the ledger knows it before the server answers."""
    if "Message-ID" not in message.extra_headers:
        domain = _domain_of(message.from_email)
        message.extra_headers["Message-ID"] = make_msgid(idstring=f"tocsin.{campaign_id}.{delivery_id}", domain=domain)
    return message.extra_headers["Message-ID"]


def with_bounce_address(message: EmailMultiAlternatives, *, delivery_id: int, kind: str = verp.CAMPAIGN) -> None:
    """Give ``message`` its delivery's VERP envelope sender for Django's SMTP backend, keeping its From header.

    Django's SMTP backend takes MAIL FROM from ``from_email`` and the From
    header from ``extra_headers["From"]`` when there is one: the shapes our
    own MIME does not build (an attachment, text alone) still bounce to an
    address naming their delivery.
    """
    if "From" not in message.extra_headers:
        message.extra_headers["From"] = message.from_email
    bare = parseaddr(message.from_email)[1]
    message.from_email = verp.envelope_sender(delivery_id=delivery_id, envelope_from=bare, kind=kind)


class EmailBackendTransport:
    """One connection of Django's email backend, kept open between messages."""

    max_per_call = 1

    def __init__(self) -> None:
        self.connection: Any = get_connection(fail_silently=False)

    def prepare(self, message: EmailMultiAlternatives, *, campaign_id: int, delivery_id: int) -> Outgoing:
        ours = message_id(message, campaign_id=campaign_id, delivery_id=delivery_id)
        return Outgoing(message, message.to[0] if message.to else "", ours, delivery_id)

    def send(self, prepared: Sequence[Outgoing]) -> list[Classified]:
        return [self._send_one(outgoing) for outgoing in prepared]

    def _send_one(self, outgoing: Outgoing) -> Classified:
        try:
            built = envelope_and_bytes(outgoing.message) if isinstance(self.connection, SMTPBackend) else None
            if built is not None:
                # Django's SMTP backend, minus its slow serialiser (mime.py) and
                # smtplib's four round trips per message (smtp.py).
                if self.connection.connection is None:
                    self.connection.open()
                envelope_from, recipients, data = built
                if outgoing.delivery_id is not None:  # bounces come back to a signed address naming it (VERP)
                    envelope_from = verp.envelope_sender(
                        delivery_id=outgoing.delivery_id, envelope_from=envelope_from, kind=outgoing.bounce_kind
                    )
                smtp.send(self.connection.connection, envelope_from, recipients, data)
            else:
                if outgoing.delivery_id is not None and isinstance(self.connection, SMTPBackend):
                    with_bounce_address(outgoing.message, delivery_id=outgoing.delivery_id, kind=outgoing.bounce_kind)
                self.connection.send_messages([outgoing.message])
        except Exception as exc:
            verdict = outcomes.classify(exc)
            if verdict.outcome == Outcome.RETRY:
                # The connection may be half-dead (a 421, a reset): start the next message on a new one.
                self.close()
                self.connection = get_connection(fail_silently=False)
            return verdict
        return outcomes.after_send(outgoing.message, outgoing.email, outgoing.message_id)

    def close(self) -> None:
        try:
            self.connection.close()
        except Exception:  # a dead SMTP connection raises on QUIT; nothing is lost
            logger.debug("closing the email connection failed", exc_info=True)
