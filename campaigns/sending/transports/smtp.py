"""One SMTP mail transaction in two round trips, for the SMTP path of the email-backend transport.

``smtplib.SMTP.sendmail`` waits for the server after MAIL, after each RCPT,
after DATA and after the message: four round trips per message, each a
context switch to the server on a small machine, plus a pure-Python address
parser (``quoteaddr``) twice and a regular expression over the whole message
for dot-stuffing. Measured in one worker, those were a third of the time per
message. Servers that advertise PIPELINING (RFC 2920: Postfix, Exim, every
provider's relay) take MAIL, RCPT and DATA in one write; the message then
follows the 354 reply. The bytes come from ``campaigns.sending.mime`` (CRLF line ends,
base64 bodies, folded headers start with a space), so no line begins with a
dot; we check rather than trust.

Anything unusual (no PIPELINING, an address that is not plain ASCII) goes
through ``sendmail`` unchanged, and errors raise the exceptions ``sendmail``
raises, so ``campaigns.sending.outcomes.classify`` treats both paths alike.
"""

from __future__ import annotations

import re
import smtplib

# The same shape campaigns.sending.mime accepts as needing no sanitising: no spaces, brackets or line breaks.
_PLAIN = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+\Z")


def send(smtp: smtplib.SMTP, sender: str, recipients: list[str], data: bytes) -> None:
    """Send ``data`` to ``recipients``; raise as ``smtplib.SMTP.sendmail`` would on any refusal."""
    smtp.ehlo_or_helo_if_needed()
    if (
        not smtp.does_esmtp
        or not smtp.has_extn("pipelining")
        or not recipients
        or not all(_PLAIN.match(address) for address in [sender, *recipients])
        or data.startswith(b".")
        or b"\n." in data
        or not data.endswith(b"\r\n")
    ):
        smtp.sendmail(sender, recipients, data)
        return
    commands = [f"MAIL FROM:<{sender}>\r\n"]
    commands += [f"RCPT TO:<{address}>\r\n" for address in recipients]
    commands.append("DATA\r\n")
    smtp.send("".join(commands).encode("ascii"))
    # Every pipelined command gets its reply, in order, even after a refusal.
    mail_code, mail_reply = smtp.getreply()
    refused = {}
    for address in recipients:
        code, reply = smtp.getreply()
        if code not in (250, 251):
            refused[address] = (code, reply)
    data_code, data_reply = smtp.getreply()
    if data_code == 354 and (mail_code != 250 or len(refused) == len(recipients)):
        # A server that said 354 with no valid recipient: end the empty message, deliver nothing.
        smtp.send(b".\r\n")
        smtp.getreply()
    if mail_code != 250:
        _reset(smtp, mail_code)
        raise smtplib.SMTPSenderRefused(mail_code, mail_reply, sender)
    if len(refused) == len(recipients):
        _reset(smtp, next(iter(refused.values()))[0])
        raise smtplib.SMTPRecipientsRefused(refused)
    if data_code != 354:
        _reset(smtp, data_code)
        raise smtplib.SMTPDataError(data_code, data_reply)
    smtp.send(data + b".\r\n")
    code, reply = smtp.getreply()
    if code != 250:
        _reset(smtp, code)
        raise smtplib.SMTPDataError(code, reply)


def _reset(smtp: smtplib.SMTP, code: int) -> None:
    # As sendmail does: 421 means the server is closing the connection.
    if code == 421:
        smtp.close()
    else:
        smtp._rset()  # type: ignore[attr-defined]  # smtplib's own quiet RSET
