"""An HTTP server on 127.0.0.1 that records what it receives: the base of every fake web service.

``HTTPReceiver(respond)`` listens on a free port (``receiver.url``), keeps
each request (method, path, headers, body) in ``receiver.requests`` and
answers with ``respond(request)``: ``(status, headers, body)``. Outgoing
webhooks, the Sentry and Turnstile stand-ins, Amazon SNS and Postmark
(tests/support/postmark.py) are receivers with their own ``respond``.
``wait_for(n)`` waits for the n-th request, with a deadline.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]  # as the client wrote the names; ``header()`` ignores their case
    body: bytes = field(repr=False)

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers.items() if key.lower() == name.lower()), None)

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        return {key: values[0] for key, values in parse_qs(self.body.decode()).items()}


Response = tuple[int, dict[str, str], bytes]
Responder = Callable[[Request], Response]


def json_response(status: int, answer: Any) -> Response:
    return status, {"Content-Type": "application/json"}, json.dumps(answer).encode()


def ok(request: Request) -> Response:
    return 200, {}, b""


class HTTPReceiver:
    def __init__(self, respond: Responder = ok) -> None:
        self.respond = respond
        self.requests: list[Request] = []
        self._condition = threading.Condition()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def record(self, request: Request) -> None:
        with self._condition:
            self.requests.append(request)
            self._condition.notify_all()

    def wait_for(self, count: int, *, timeout: float = 30.0) -> list[Request]:
        """The first ``count`` requests, waiting up to ``timeout`` seconds for them."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while len(self.requests) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"expected {count} request(s) within {timeout:.0f} s, got {self.requests}")
                self._condition.wait(remaining)
            return list(self.requests[:count])

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                request = Request(self.command, self.path, dict(self.headers.items()), body)
                receiver.record(request)
                status, headers, payload = receiver.respond(request)
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:  # the client gave up waiting
                    pass

            do_GET = do_POST = do_PUT = do_DELETE = _serve

            def log_message(self, *args: object) -> None:
                pass

        return Handler


@contextlib.contextmanager
def receiving(respond: Responder = ok) -> Iterator[HTTPReceiver]:
    receiver = HTTPReceiver(respond)
    try:
        yield receiver
    finally:
        receiver.close()
