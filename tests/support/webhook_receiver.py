"""A real HTTP receiver for outgoing webhooks: http.server in a thread, on 127.0.0.1.

It keeps every request (path, headers, body) and answers from a script of
``Reply`` values (the last one repeats): a status and body, optionally held
until the test releases it (a receiver that hangs mid-delivery).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook


@dataclass
class Reply:
    status: int = 200
    body: str = "ok"
    headers: dict[str, str] = field(default_factory=dict)
    # Set: the answer waits until it is set (or the test ends).
    hold: threading.Event | None = None


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def verify(self, secret: str) -> dict:
        """The body, after the standardwebhooks package checked its signature (raises otherwise)."""
        return Webhook(secret).verify(self.body, self.headers)


class Receiver:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.script: list[Reply] = [Reply()]
        self.released = threading.Event()
        self._condition = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                received = Received(self.path, dict(self.headers.items()), self.rfile.read(length))
                with receiver._condition:
                    receiver.requests.append(received)
                    reply = receiver.script.pop(0) if len(receiver.script) > 1 else receiver.script[0]
                    receiver._condition.notify_all()
                if reply.hold is not None:
                    reply.hold.wait(60)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                data = reply.body.encode()
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]

    def url(self, path: str = "/hooks/tocsin") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, *replies: Reply) -> None:
        with self._condition:
            self.script = list(replies)

    def wait_for(self, count: int, *, timeout: float = 30.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self._condition:
            while len(self.requests) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"expected {count} request(s) within {timeout:.0f} s, got {len(self.requests)}"
                    )
                self._condition.wait(remaining)
            return list(self.requests[:count])


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        for reply in receiver.script:
            if reply.hold is not None:
                reply.hold.set()
        receiver.server.shutdown()
        receiver.server.server_close()
        thread.join(timeout=5)
