"""The SMTP servers tests send to: aiosmtpd on 127.0.0.1, on a free port.

``CollectingHandler`` keeps every message as an ``EmailMessage`` and wakes
whoever waits for one (the ``smtp_server`` fixture in tests/e2e/conftest.py).
``CountingHandler`` counts messages per recipient and can be slow or refuse
on purpose (crash, outage and throttle tests). ``serving`` runs either one.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import threading
import time
from collections import Counter
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session

from scripts.local_redis import free_port


class CollectingHandler:
    """aiosmtpd handler: parse each message and wake whoever waits for it."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self._condition = threading.Condition()

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        message = email.message_from_bytes(envelope.original_content or b"", policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self._condition:
            self.messages.append(message)
            self.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
            self._condition.notify_all()
        return "250 OK"

    def wait_for(self, count: int, *, timeout: float = 30.0) -> list[EmailMessage]:
        """The first ``count`` messages received, waiting up to ``timeout`` seconds for them."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while len(self.messages) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    subjects = [str(m.get("Subject")) for m in self.messages]
                    raise AssertionError(f"expected {count} email(s) within {timeout:.0f} s, got {subjects}")
                self._condition.wait(remaining)
            return list(self.messages[:count])


class CountingHandler:
    """Counts messages per recipient; can be slow and refuse the first few on purpose.

    ``delay`` is the fake server's own slowness (a real one takes time too):
    it keeps a send going long enough to kill a worker in the middle of it.
    """

    def __init__(self, delay: float = 0.004, refuse_first: int = 0) -> None:
        self.delay = delay
        self.refuse_first = refuse_first  # answer "421" to this many messages first
        self.received: Counter[str] = Counter()
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.delay)
        with self.lock:
            if self.refuse_first > 0:
                self.refuse_first -= 1
                return "421 4.3.2 Service not available, try again later"
            for rcpt in envelope.rcpt_tos:
                self.received[rcpt.lower()] += 1
        return "250 OK"

    @property
    def total(self) -> int:
        with self.lock:
            return sum(self.received.values())


class SMTPServer:
    """A running server: where it listens, and what its ``CollectingHandler`` received."""

    def __init__(self, handler: CollectingHandler, port: int) -> None:
        self.handler = handler
        self.host = "127.0.0.1"
        self.port = port

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    @property
    def messages(self) -> list[EmailMessage]:
        return list(self.handler.messages)

    def wait_for(self, count: int, *, timeout: float = 30.0) -> list[EmailMessage]:
        return self.handler.wait_for(count, timeout=timeout)


@contextlib.contextmanager
def serving(handler: Any) -> Iterator[int]:
    """Run ``handler`` as an SMTP server on a free port of 127.0.0.1; yields the port."""
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@contextlib.contextmanager
def collecting_server() -> Iterator[SMTPServer]:
    handler = CollectingHandler()
    with serving(handler) as port:
        yield SMTPServer(handler, port)


@contextlib.contextmanager
def smtp_on_localhost(handler: Any) -> Iterator[str]:
    """Run ``handler`` as an SMTP server on a free port; yields its EMAIL_URL."""
    with serving(handler) as port:
        yield f"smtp://127.0.0.1:{port}"
