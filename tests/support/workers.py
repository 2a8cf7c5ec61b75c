"""Real Celery workers for tests: a subprocess on the real Redis and the PostgreSQL test database.

``start_worker`` runs ``celery -A config worker`` on the three queues with
the environment a worker machine would have (``worker_env``): the test
database pytest-django created, REDIS_URL, and the EMAIL_URL given, so email
really leaves the worker over SMTP. ``WorkerProcess`` reads its output (to
know when it is ready, and to show its log when a test fails) and stops its
whole process group. The fixture ``celery_worker_process`` in
tests/e2e/conftest.py is built on these.

Tests that use a worker need ``@pytest.mark.worker`` (they skip without
PostgreSQL and Redis; CI fails on any skip) and
``@pytest.mark.django_db(transaction=True)``, so that what the test writes is
committed and visible to the worker's own connection.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from tests.support import ROOT
from tests.support.waiting import wait_for_process

WORKER_START_TIMEOUT = 90.0
WORKER_STOP_TIMEOUT = 15.0
CONCURRENCY = 2  # pool processes, one SMTP connection each
FAST_RECOVERY = {
    # Short leases and claim timeout so that a test does not wait minutes;
    # production defaults are 60 s, 600 s and 90 s.
    "TOCSIN_SEND_LEASE_SECONDS": "2",
    "TOCSIN_SEND_QUEUE_LEASE_SECONDS": "4",
    "TOCSIN_SEND_CLAIM_TIMEOUT": "3",
    "TOCSIN_SEND_BATCH_SIZE": "100",
}


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


def worker_env(email_url: str, **extra: str) -> dict[str, str]:
    """This process's environment as another machine sharing the test database and Redis would have it."""
    env = {key: value for key, value in os.environ.items() if key not in ("ESP", "CELERY_BROKER_URL", "QUEUES")}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=worker_database_url(),
        REDIS_URL=settings.REDIS_URL,
        EMAIL_URL=email_url,
        SITE_URL=settings.SITE_URL,
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)  # may point DATABASE_URL or REDIS_URL elsewhere (the outage tests)
    return env


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
        self.wait_for_line(" ready.", what="the Celery worker")

    def wait_for_line(self, text: str, *, what: str, timeout: float = WORKER_START_TIMEOUT) -> None:
        """Until a line of the output contains ``text``; fails at once if the process ended."""
        wait_for_process(
            lambda: any(text in line for line in self.output),
            lambda: self.process.poll() is None,
            timeout=timeout,
            describe=lambda: f"{what} did not start:\n{self.log}",
        )

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


def spawn(command: list[str], env: Mapping[str, str]) -> WorkerProcess:
    """Start ``command`` in a process group of its own, its output read by a ``WorkerProcess``."""
    process = subprocess.Popen(
        command, cwd=ROOT, env=dict(env), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    return WorkerProcess(process)


def start_worker(
    email_url: str, name: str, *, recovery: Mapping[str, str] = FAST_RECOVERY, **extra_env: str
) -> WorkerProcess:
    """A ready ``celery -A config worker`` on all three queues, mailing to ``email_url``."""
    command = [
        sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "urgent,default,bulk",
        "--concurrency", str(CONCURRENCY), "--hostname", f"{name}-{os.getpid()}@%h",
        "--without-gossip", "--without-mingle", "--loglevel", "INFO",
    ]  # fmt: skip
    worker = spawn(command, worker_env(email_url, **{**recovery, **extra_env}))
    try:
        worker.wait_ready()
    except BaseException:
        worker.stop()
        raise
    return worker


def start_beat(
    email_url: str, schedule: Path, *, hostname: str = "", log: Path | None = None, **extra_env: str
) -> subprocess.Popen[bytes]:
    """A real ``celery beat``; with ``hostname``, on a "machine" of that name (tests/support/machines.py)."""
    from tests.support.machines import AS_HOST

    env = worker_env(email_url, **extra_env)
    argv = [sys.executable, "-m", "celery", "-A", "config", "beat", "--schedule", str(schedule), "--loglevel", "INFO"]
    if hostname:
        argv = ["unshare", "--uts", sys.executable, "-c", AS_HOST, hostname, *argv]
    with log.open("wb") if log else open(os.devnull, "wb") as out:
        return subprocess.Popen(
            argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group, SIGKILL if it is still there 10 s later."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
