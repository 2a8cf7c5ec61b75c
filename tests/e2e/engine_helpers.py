"""A real worker with the engine's settings, and SMTP servers that are slow or refuse on purpose."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

from aiosmtpd.controller import Controller
from django.conf import settings

from tests.e2e.conftest import ROOT, WorkerProcess, free_port, worker_database_url

CONCURRENCY = 2  # pool processes, one SMTP connection each
FAST_RECOVERY = {
    # Short leases and claim timeout so that the test does not wait minutes;
    # production defaults are 60 s, 600 s and 90 s.
    "TOCSIN_SEND_LEASE_SECONDS": "2",
    "TOCSIN_SEND_QUEUE_LEASE_SECONDS": "4",
    "TOCSIN_SEND_CLAIM_TIMEOUT": "3",
    "TOCSIN_SEND_BATCH_SIZE": "100",
}


class CountingHandler:
    """Counts messages per recipient; a small delay per message keeps the send going while we kill."""

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


@contextlib.contextmanager
def smtp_on_localhost(handler: CountingHandler) -> Iterator[str]:
    """Run ``handler`` as an SMTP server on a free port; yields its EMAIL_URL."""
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}"
    finally:
        controller.stop()


def start_worker(email_url: str, name: str, **extra_env: str) -> WorkerProcess:
    env = dict(os.environ)
    for key in ("ESP", "CELERY_BROKER_URL"):
        env.pop(key, None)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": worker_database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "EMAIL_URL": email_url,
            "SITE_URL": settings.SITE_URL,
            "PYTHONUNBUFFERED": "1",
            **FAST_RECOVERY,
            **extra_env,
        }
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "urgent,default,bulk",
         "--concurrency", str(CONCURRENCY), "--hostname", f"{name}-{os.getpid()}@%h",
         "--without-gossip", "--without-mingle", "--loglevel", "INFO"],
        cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    worker = WorkerProcess(process)
    worker.wait_ready()
    return worker
