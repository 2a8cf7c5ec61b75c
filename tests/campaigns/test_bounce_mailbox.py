"""``manage.py poll_bounces`` against a real IMAP server (pymap's in-memory backend, in its own process)."""

from __future__ import annotations

import imaplib
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from campaigns.events.bounces import verp
from campaigns.events.bounces.mailbox import Mailbox, MailboxError, poll
from campaigns.models import DeliveryEvent
from scripts.local_redis import free_port
from subscribers.services.leaving import is_suppressed
from tests.support import bounce_samples
from tests.support.factories import make_delivery

pytestmark = pytest.mark.django_db
USER, PASSWORD = "demouser", "demopass"


class ImapServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"imap://{USER}:{PASSWORD}@127.0.0.1:{port}/INBOX"

    def client(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=30)
        client.login(USER, PASSWORD)
        client.select("INBOX")
        return client

    def deliver(self, raw: bytes) -> None:
        client = self.client()
        try:
            client.append("INBOX", None, None, raw)
        finally:
            client.logout()

    def count(self) -> int:
        client = self.client()
        try:
            _status, data = client.search(None, "ALL")
            return len((data[0] or b"").split())
        finally:
            client.logout()


@pytest.fixture
def imap_server() -> Iterator[ImapServer]:
    port = free_port()
    pymap = Path(sys.executable).with_name("pymap")
    process = subprocess.Popen(
        [str(pymap), "--host", "127.0.0.1", "--port", str(port), "--no-tls", "dict", "--demo-data"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("pymap did not start") from None
                time.sleep(0.1)
        server = ImapServer(port)
        # The demo data's own messages go first: the tests start from an empty inbox.
        client = server.client()
        client.store("1:*", "+FLAGS", r"(\Deleted)")
        client.expunge()
        client.logout()
        yield server
    finally:
        process.terminate()
        process.wait(timeout=10)


def bounce_for(delivery, name: str = "postfix_hard", *, n: int = 1) -> bytes:
    address = verp.envelope_sender(delivery_id=delivery.pk, envelope_from="bulletin@tocsin.example.org")
    return bounce_samples.render(name, verp=address, rcpt=delivery.subscriber.email, n=n)


def test_poll_bounces_records_each_message_then_deletes_it(imap_server):
    bounced = make_delivery("gone@example.net")
    complained = make_delivery("angry@example.net")
    imap_server.deliver(bounce_for(bounced, "gmail_hard"))
    imap_server.deliver(bounce_for(complained, "arf_complaint", n=2))
    imap_server.deliver(b"From: someone@example.org\r\nSubject: hello\r\n\r\nnot a bounce\r\n")
    out = StringIO()

    call_command("poll_bounces", mailbox=imap_server.url, stdout=out)

    assert "3 message(s): 2 recorded, 0 already recorded, 1 ignored" in out.getvalue()
    assert is_suppressed("gone@example.net") and is_suppressed("angry@example.net")
    assert DeliveryEvent.objects.get(delivery=complained).kind == DeliveryEvent.Kind.COMPLAINED
    assert imap_server.count() == 0


def test_a_message_stays_in_the_mailbox_until_it_is_recorded(imap_server):
    first, second = make_delivery("one@example.net"), make_delivery("two@example.net")
    imap_server.deliver(bounce_for(first))
    imap_server.deliver(bounce_for(second, n=2))
    handled = []

    def crash_on_the_second(raw: bytes):  # type: ignore[no-untyped-def]
        from campaigns.events.bounces.ingest import ingest

        if handled:
            raise RuntimeError("the database went away")
        handled.append(raw)
        return ingest(raw)

    with pytest.raises(RuntimeError):
        poll(imap_server.url, handle=crash_on_the_second)

    assert imap_server.count() == 1  # the first is recorded and gone, the second waits
    call_command("poll_bounces", mailbox=imap_server.url, stdout=StringIO())
    assert imap_server.count() == 0
    assert is_suppressed("one@example.net") and is_suppressed("two@example.net")


def test_a_wrong_password_or_url_is_a_clear_error(imap_server):
    with pytest.raises(CommandError, match="refused"):
        call_command("poll_bounces", mailbox=imap_server.url.replace(PASSWORD, "wrong"), stdout=StringIO())
    with pytest.raises(CommandError, match="must start with"):
        call_command("poll_bounces", mailbox="http://example.org/", stdout=StringIO())
    with pytest.raises(CommandError, match="no mailbox"):
        call_command("poll_bounces", stdout=StringIO())


def test_mailbox_urls_are_read_with_their_defaults():
    assert Mailbox.from_url("imaps://bounces%40org:p%2Fw@mail.example.org/Bounces") == Mailbox(
        "imaps", "mail.example.org", 993, "bounces@org", "p/w", "Bounces"
    )
    assert Mailbox.from_url("pop3s://u:p@pop.example.org").port == 995
    assert Mailbox.from_url("imap://u:p@127.0.0.1:1143").folder == "INBOX"
    with pytest.raises(MailboxError):
        Mailbox.from_url("imaps://mail.example.org/INBOX")


class Pop3Handler(socketserver.StreamRequestHandler):
    """Just enough of RFC 1939 for a client: USER, PASS, STAT, RETR, DELE, QUIT (deletes at QUIT only)."""

    def handle(self) -> None:
        box: list[bytes] = self.server.messages  # type: ignore[attr-defined]
        deleted: set[int] = set()
        self.wfile.write(b"+OK test POP3 server ready\r\n")
        for raw in self.rfile:
            command, _, argument = raw.decode("ascii", "replace").strip().partition(" ")
            command = command.upper()
            if command in ("USER", "PASS", "NOOP"):
                ok = command != "PASS" or argument == PASSWORD
                self.wfile.write(b"+OK\r\n" if ok else b"-ERR authentication failed\r\n")
            elif command == "STAT":
                self.wfile.write(f"+OK {len(box)} {sum(map(len, box))}\r\n".encode())
            elif command == "RETR":
                body = box[int(argument) - 1].replace(b"\r\n.", b"\r\n..")
                self.wfile.write(b"+OK\r\n" + body + b".\r\n")
            elif command == "DELE":
                deleted.add(int(argument) - 1)
                self.wfile.write(b"+OK\r\n")
            elif command == "QUIT":
                box[:] = [message for i, message in enumerate(box) if i not in deleted]
                self.wfile.write(b"+OK bye\r\n")
                return
            else:
                self.wfile.write(b"-ERR unknown command\r\n")


@pytest.fixture
def pop3_server() -> Iterator[socketserver.ThreadingTCPServer]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Pop3Handler)
    server.messages = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_poll_bounces_reads_a_pop3_mailbox_and_empties_it(pop3_server):
    delivery = make_delivery("gone@example.net")
    message = bounce_for(delivery, "exim_hard")
    pop3_server.messages.append(message)  # type: ignore[attr-defined]
    port = pop3_server.server_address[1]
    out = StringIO()

    call_command("poll_bounces", mailbox=f"pop3://{USER}:{PASSWORD}@127.0.0.1:{port}", stdout=out)

    assert "1 message(s): 1 recorded" in out.getvalue()
    assert is_suppressed("gone@example.net")
    assert pop3_server.messages == []  # type: ignore[attr-defined]
