"""Read the bounce mailbox (``TOCSIN_BOUNCE_MAILBOX``) and ingest every message in it.

``imaps://user:password@host[:port]/FOLDER`` (FOLDER defaults to INBOX) or
``pop3s://user:password@host[:port]``; plain ``imap://`` and ``pop3://`` are for
a server on the same machine or a test. A message is deleted from the mailbox
only after ``ingest`` has recorded it (or decided it is not ours): a crash or a
lost connection in between leaves it there for the next poll, and reading it
again changes nothing (events are stored once).
"""

from __future__ import annotations

import imaplib
import logging
import poplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from campaigns.events.bounces.ingest import Outcome, ingest

logger = logging.getLogger(__name__)

_TIMEOUT = 60.0
_DEFAULT_PORTS = {"imap": 143, "imaps": 993, "pop3": 110, "pop3s": 995}


class MailboxError(Exception):
    """The mailbox URL is wrong, or the server refused us."""


@dataclass
class PollResult:
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, result: str) -> int:
        return sum(1 for outcome in self.outcomes if outcome.result == result)


@dataclass(frozen=True)
class Mailbox:
    scheme: str
    host: str
    port: int
    user: str
    password: str
    folder: str

    @classmethod
    def from_url(cls, url: str) -> Mailbox:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS:
            raise MailboxError(
                f"TOCSIN_BOUNCE_MAILBOX must start with imaps://, pop3s://, imap:// or pop3:// (got {scheme!r})"
            )
        if not parts.hostname or not parts.username:
            raise MailboxError("TOCSIN_BOUNCE_MAILBOX needs a user and a host: imaps://user:password@host/INBOX")
        try:
            port = parts.port or _DEFAULT_PORTS[scheme]
        except ValueError as exc:
            raise MailboxError(f"TOCSIN_BOUNCE_MAILBOX has a bad port: {exc}") from exc
        return cls(
            scheme=scheme,
            host=parts.hostname,
            port=port,
            user=unquote(parts.username),
            password=unquote(parts.password or ""),
            folder=unquote(parts.path.strip("/")) or "INBOX",
        )


def poll(url: str, *, handle: Callable[[bytes], Outcome] = ingest) -> PollResult:
    mailbox = Mailbox.from_url(url)
    try:
        if mailbox.scheme.startswith("imap"):
            return _poll_imap(mailbox, handle)
        return _poll_pop3(mailbox, handle)
    except (imaplib.IMAP4.error, poplib.error_proto) as exc:
        raise MailboxError(f"the mail server refused: {exc}") from exc


def _poll_imap(mailbox: Mailbox, handle: Callable[[bytes], Outcome]) -> PollResult:
    result = PollResult()
    if mailbox.scheme == "imaps":
        client: imaplib.IMAP4 = imaplib.IMAP4_SSL(
            mailbox.host, mailbox.port, ssl_context=ssl.create_default_context(), timeout=_TIMEOUT
        )
    else:
        client = imaplib.IMAP4(mailbox.host, mailbox.port, timeout=_TIMEOUT)
    try:
        client.login(mailbox.user, mailbox.password)
        status, _ = client.select(_quoted(mailbox.folder))
        if status != "OK":
            raise MailboxError(f"no folder {mailbox.folder!r} in the mailbox")
        _status, data = client.uid("SEARCH", "ALL")
        for uid in (data[0] or b"").decode("ascii").split():
            raw = _fetch_imap(client, uid)
            if raw is None:
                continue
            result.outcomes.append(handle(raw))
            # Deleted only now that it is recorded; expunged each time so a crash loses nothing recorded.
            client.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)")
            client.expunge()
    finally:
        _logout(client)
    return result


def _fetch_imap(client: imaplib.IMAP4, uid: str) -> bytes | None:
    _status, data = client.uid("FETCH", uid, "(BODY.PEEK[])")
    for item in data:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
            return item[1]
    return None


def _poll_pop3(mailbox: Mailbox, handle: Callable[[bytes], Outcome]) -> PollResult:
    result = PollResult()
    if mailbox.scheme == "pop3s":
        client: poplib.POP3 = poplib.POP3_SSL(
            mailbox.host, mailbox.port, context=ssl.create_default_context(), timeout=_TIMEOUT
        )
    else:
        client = poplib.POP3(mailbox.host, mailbox.port, timeout=_TIMEOUT)
    try:
        client.user(mailbox.user)
        client.pass_(mailbox.password)
        count, _size = client.stat()
        for number in range(1, count + 1):
            _response, lines, _octets = client.retr(number)
            result.outcomes.append(handle(b"\r\n".join(lines) + b"\r\n"))
            client.dele(number)
        client.quit()  # POP3 deletes what DELE marked only at a clean QUIT
    except BaseException:
        client.close()
        raise
    return result


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _logout(client: imaplib.IMAP4) -> None:
    try:
        client.logout()
    except (OSError, imaplib.IMAP4.error):
        logger.debug("IMAP logout failed", exc_info=True)
