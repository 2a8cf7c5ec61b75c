"""End-to-end fixtures: a real SMTP server and a real Celery worker.

``smtp_server`` is an aiosmtpd server on 127.0.0.1 that keeps every message it
receives as an ``EmailMessage``. ``celery_worker_process`` starts
``celery -A config worker`` as a subprocess on the real Redis (REDIS_URL) and
the PostgreSQL test database pytest-django created, with EMAIL_URL pointing at
``smtp_server``: email really leaves the worker over SMTP.

Tests that use the worker need ``@pytest.mark.worker`` (they skip without
PostgreSQL and Redis; CI fails on any skip) and
``@pytest.mark.django_db(transaction=True)``, so that what the test writes is
committed and visible to the worker's own connection.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import redis
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
WORKER_START_TIMEOUT = 90.0
WORKER_STOP_TIMEOUT = 15.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


class SMTPServer:
    def __init__(self, controller: Controller, handler: CollectingHandler, port: int) -> None:
        self.controller = controller
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


@pytest.fixture
def smtp_server() -> Iterator[SMTPServer]:
    handler = CollectingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SMTPServer(controller, handler, port)
    finally:
        controller.stop()


def worker_database_url() -> str:
    """DATABASE_URL for the test database pytest-django created (test_<name>)."""
    db = connection.settings_dict
    if db["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("a real worker needs the PostgreSQL test database")
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = db.get("HOST") or "127.0.0.1"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{credentials}{host}{port}/{quote(db['NAME'], safe='')}"


class WorkerProcess:
    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self.output: list[str] = []
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._pump, daemon=True)
        self._reader.start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for raw in iter(self.process.stdout.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip()
            self.output.append(line)
            if " ready." in line:
                self._ready.set()

    def wait_ready(self) -> None:
        deadline = time.monotonic() + WORKER_START_TIMEOUT
        while not self._ready.wait(0.2):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the Celery worker did not start:\n" + self.log)

    @property
    def log(self) -> str:
        return "\n".join(self.output[-200:])

    def stop(self) -> None:
        if self.process.poll() is None:
            # The worker's own process group holds its pool processes too.
            os.killpg(self.process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=WORKER_STOP_TIMEOUT)
        # Whatever is left of the group (a stuck pool process) goes too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        if self.process.poll() is None:
            self.process.wait()
        self._reader.join(timeout=2)


@pytest.fixture
def celery_worker_process(transactional_db: None, smtp_server: SMTPServer) -> Iterator[WorkerProcess]:
    """A real ``celery -A config worker`` on all three queues, mailing to ``smtp_server``."""
    database_url = worker_database_url()
    redis_url = settings.REDIS_URL
    # Tasks left in the queues by an earlier run would run against this test's
    # database. Only this Redis database is flushed: in development each
    # engineer uses a db number of their own (REDIS_URL=redis://…/N).
    redis.Redis.from_url(redis_url).flushdb()
    env = dict(os.environ)
    for name in ("ESP", "CELERY_BROKER_URL"):
        env.pop(name, None)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "EMAIL_URL": smtp_server.url,
            "SITE_URL": settings.SITE_URL,
            "PYTHONUNBUFFERED": "1",
        }
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-Q",
            "urgent,default,bulk",
            "--pool",
            "prefork",
            "--concurrency",
            "2",
            "--hostname",
            f"e2e-{os.getpid()}@%h",
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "INFO",
        ],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    worker = WorkerProcess(process)
    try:
        worker.wait_ready()
        yield worker
    finally:
        worker.stop()


def wait_until(condition: Any, *, timeout: float = 30.0, message: str = "condition") -> None:
    """Poll ``condition()`` until it is true (for effects in the database, not in the mailbox)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{message} did not happen within {timeout:.0f} s")
        time.sleep(0.1)
