"""A Postmark stand-in on 127.0.0.1: /email (one message) and /email/batch (many), answered from a script.

``PostmarkStub`` records every call as ``(path, headers, body)``. Its
``answers`` decide each reply, one callable per call (the last one repeats):
each gets the call's messages and returns ``(HTTP status, one answer per
message)``, or raw bytes for a reply that makes no sense. For a single
``/email`` call the stub answers with that one message's object, and with
HTTP 422 when it carries a Postmark error code, as Postmark does.

The default answer, ``stub.deliver``, accepts every message except those to
``stub.inactive`` addresses (Postmark's error 406) and counts what it accepted
per address in ``stub.received``. ``accept`` accepts everything; ``outage``
is a 500. ``stub.delay`` is the provider's own slowness before it answers
(a lost answer, calls overlapping in flight): the fake server's behaviour
under test, not a wait.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from email.utils import parseaddr
from typing import Any

from tests.support.http import HTTPReceiver, Request, Response

Answer = tuple[int, Any]  # (HTTP status, one JSON answer per message, or raw bytes)
Messages = list[dict[str, Any]]


def message_id(message: dict[str, Any]) -> str:
    delivery = (message.get("Metadata") or {}).get("delivery_id")
    return f"pm-{delivery}" if delivery else str(uuid.uuid4())


def accept(messages: Messages) -> Answer:
    return 200, [
        {"To": m["To"], "MessageID": message_id(m), "ErrorCode": 0, "Message": "OK",
         "SubmittedAt": "2026-11-27T10:00:00Z"}
        for m in messages
    ]  # fmt: skip


def outage(messages: Messages) -> Answer:
    return 500, {"ErrorCode": 500, "Message": "Internal server error"}


def inactive_recipient(to: str) -> dict[str, Any]:
    return {
        "ErrorCode": 406,
        "Message": "You tried to send to recipient(s) that have been marked as inactive.\n"
        f"Found inactive addresses: {to}.\nInactive recipients are ones that have "
        "generated a hard bounce or a spam complaint.",
        "To": to,
    }


class PostmarkStub(HTTPReceiver):
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, str], Any]] = []
        self.answers: list[Callable[[Messages], Answer]] = [self.deliver]
        self.delay = 0.0
        self.inactive: set[str] = set()
        self.received: Counter[str] = Counter()
        self.lock = threading.Lock()
        super().__init__(self.reply)
        self.url += "/"

    def deliver(self, messages: Messages) -> Answer:
        """Accept each message, except to an inactive address; count what was accepted."""
        answers = []
        for message, accepted in zip(messages, accept(messages)[1], strict=True):
            to = parseaddr(message.get("To", ""))[1].lower()
            if to in self.inactive:
                answers.append(inactive_recipient(to))
                continue
            with self.lock:
                self.received[to] += 1
            answers.append(accepted)
        return 200, answers

    def messages(self) -> Messages:
        return [m for _path, _headers, body in self.calls for m in (body if isinstance(body, list) else [body])]

    def reply(self, request: Request) -> Response:
        body = json.loads(request.body or b"{}")
        with self.lock:
            self.calls.append((request.path, request.headers, body))
            answer = self.answers[min(len(self.calls), len(self.answers)) - 1]
        status, reply = answer(body if isinstance(body, list) else [body])
        if not isinstance(body, list) and isinstance(reply, list):
            reply = reply[0]
            if status == 200 and reply.get("ErrorCode"):
                status = 422
        time.sleep(self.delay)  # the provider's own slowness (see the module's docstring)
        payload = reply if isinstance(reply, bytes) else json.dumps(reply).encode()
        return status, {"Content-Type": "application/json"}, payload
