"""A stand-in for Postmark's API: answers POST /email (and /email/batch) after a fixed delay.

    python bench/postmark_stub.py PORT [DELAY_SECONDS]

A threaded http.server, so that many calls wait out their delay at once, as
they would against the real service. Prints "ready", and the count on SIGTERM.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DELAY = 0.1
count = 0
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: one connection per sender thread, as requests does

    def do_POST(self) -> None:
        global count
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        time.sleep(DELAY)
        messages = body if isinstance(body, list) else [body]
        # Refuse what the real API refuses, so the benchmark cannot pass by cheating.
        if not self.headers.get("X-Postmark-Server-Token"):
            self._answer(401, {"ErrorCode": 10, "Message": "No Account or Server API tokens were supplied."})
            return
        if self.path.rstrip("/") == "/email/batch" and not 0 < len(messages) <= 500:
            self._answer(422, {"ErrorCode": 300, "Message": "A batch takes 1 to 500 messages."})
            return
        answers = [
            {"To": m.get("To", ""), "SubmittedAt": "2026-01-01T00:00:00Z", "MessageID": str(uuid.uuid4()),
             "ErrorCode": 0, "Message": "OK"}
            for m in messages
        ]  # fmt: skip
        with lock:
            count += len(messages)
        self._answer(200, answers if isinstance(body, list) else answers[0])

    def _answer(self, status: int, answer: object) -> None:
        payload = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    global DELAY
    port = int(sys.argv[1])
    if len(sys.argv) > 2:
        DELAY = float(sys.argv[2])
    # The listen backlog is fixed when the socket is bound: the class default of
    # 5 refuses connections when a hundred senders connect at once.
    ThreadingHTTPServer.request_queue_size = 1024
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True

    def stop(*_: object) -> None:
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    print("ready", flush=True)
    server.serve_forever()
    with contextlib.suppress(BrokenPipeError):  # the benchmark may have stopped reading
        print(f"received {count}", flush=True)


if __name__ == "__main__":
    main()
