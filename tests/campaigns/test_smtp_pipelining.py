"""campaigns/sending/transports/smtp.py: one mail transaction in two round trips, with sendmail's errors."""

from __future__ import annotations

import smtplib
import socketserver
import threading
from email import message_from_bytes, policy

import pytest

from campaigns.sending import outcomes
from campaigns.sending.transports import smtp

MESSAGE = (
    b"From: bulletin@example.org\r\nTo: ana@example.org\r\nSubject: Hello\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: base64\r\n\r\nSG9sYQ==\r\n'
)


class _Handler(socketserver.StreamRequestHandler):
    """A tiny ESMTP server: refuses ``nobody@``, defers ``busy@``, rejects messages containing REJECT."""

    def recipient(self, line: bytes) -> int:
        """Answer RCPT; 1 for an accepted recipient."""
        if b"nobody@" in line:
            self.wfile.write(b"550 5.1.1 no such user\r\n")
            return 0
        if b"busy@" in line:
            self.wfile.write(b"451 4.3.0 try later\r\n")
            return 0
        self.wfile.write(b"250 ok\r\n")
        return 1

    def data(self, valid: int) -> None:
        if not valid:
            self.wfile.write(b"554 no valid recipients\r\n")
            return
        self.wfile.write(b"354 go ahead\r\n")
        data = b""
        while (chunk := self.rfile.readline()) != b".\r\n":
            data += chunk
        if b"REJECT" in data:
            self.wfile.write(b"554 5.6.0 content rejected\r\n")
        else:
            self.server.messages.append(data)  # type: ignore[attr-defined]
            self.wfile.write(b"250 queued\r\n")

    def handle(self) -> None:
        server = self.server
        self.wfile.write(b"220 test ESMTP\r\n")
        valid = 0
        while line := self.rfile.readline():
            verb = line[:4].upper()
            server.commands.append(line.strip().decode())  # type: ignore[attr-defined]
            if verb == b"EHLO":
                extensions = b"250-PIPELINING\r\n" if server.pipelining else b""  # type: ignore[attr-defined]
                self.wfile.write(b"250-test\r\n" + extensions + b"250 8BITMIME\r\n")
            elif verb == b"MAIL":
                valid = 0
                self.wfile.write(b"250 ok\r\n")
            elif verb == b"RCPT":
                valid += self.recipient(line)
            elif verb == b"DATA":
                self.data(valid)
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


@pytest.fixture(params=[True, False], ids=["pipelining", "no-pipelining"])
def server(request):
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Handler)
    srv.daemon_threads = True
    srv.pipelining = request.param  # type: ignore[attr-defined]
    srv.messages = []  # type: ignore[attr-defined]
    srv.commands = []  # type: ignore[attr-defined]
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def client(server):
    connection = smtplib.SMTP("127.0.0.1", server.server_address[1], timeout=5)
    yield connection
    connection.close()


def test_messages_arrive_intact_one_after_another_on_one_connection(server, client):
    for _ in range(3):
        smtp.send(client, "bulletin@example.org", ["ana@example.org"], MESSAGE)
    assert len(server.messages) == 3
    parsed = message_from_bytes(server.messages[0], policy=policy.strict)
    assert parsed["Subject"] == "Hello" and parsed.get_content() == "Hola"


def test_a_refused_recipient_raises_like_sendmail_and_the_connection_goes_on(server, client):
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        smtp.send(client, "bulletin@example.org", ["nobody@example.org"], MESSAGE)
    verdict = outcomes.classify(refused.value)
    assert verdict.outcome == outcomes.Outcome.FAILED and verdict.suppress

    smtp.send(client, "bulletin@example.org", ["ana@example.org"], MESSAGE)
    assert len(server.messages) == 1


def test_a_deferred_recipient_is_retried_later(server, client):
    with pytest.raises(smtplib.SMTPRecipientsRefused) as deferred:
        smtp.send(client, "bulletin@example.org", ["busy@example.org"], MESSAGE)
    assert outcomes.classify(deferred.value).outcome == outcomes.Outcome.RETRY


def test_a_rejected_message_raises_a_data_error_and_nothing_is_delivered(server, client):
    with pytest.raises(smtplib.SMTPDataError) as rejected:
        smtp.send(client, "bulletin@example.org", ["ana@example.org"], MESSAGE + b"REJECT\r\n")
    assert rejected.value.smtp_code == 554
    assert server.messages == []
    smtp.send(client, "bulletin@example.org", ["ana@example.org"], MESSAGE)
    assert len(server.messages) == 1


def test_a_line_starting_with_a_dot_is_dot_stuffed_not_cut_short(server, client):
    smtp.send(client, "bulletin@example.org", ["ana@example.org"], MESSAGE + b".hidden\r\n")
    assert server.messages[0].endswith(b"..hidden\r\n")  # this test server does not un-stuff
