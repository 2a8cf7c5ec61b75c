"""The foreground process supervisor behind `make run` and `make worker`.

Each child runs in its own session and process group, its output prefixed by
its name. SIGINT, SIGTERM or SIGHUP to the supervisor (or to its whole process
group, as Ctrl-C sends) stops every child: SIGTERM first (Celery's warm
shutdown, gunicorn's graceful one), SIGKILL to what is left after
``STOP_TIMEOUT``. If one child dies on its own, the others are stopped and the
supervisor exits non-zero: a half-running Tocsin is worse than a stopped one.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
STOP_TIMEOUT = 8.0
_print_lock = threading.Lock()


def say(line: str, *, name: str = "run") -> None:
    with _print_lock:
        sys.stdout.write(f"{name:>7} | {line}\n")
        sys.stdout.flush()


def print_block(lines: Sequence[str]) -> None:
    """A banner, indented, never interleaved with a child's output."""
    with _print_lock:
        sys.stdout.write("\n".join("  " + line if line else "" for line in lines) + "\n")
        sys.stdout.flush()


# Loaded once here, not in the child: after fork only async-signal-safe work
# belongs in preexec_fn, and dlopen is not.
try:
    _LIBC = ctypes.CDLL("libc.so.6", use_errno=True) if sys.platform.startswith("linux") else None
except OSError:
    _LIBC = None
_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """In the child: get SIGTERM if the supervisor itself is killed (-9), so nothing is orphaned."""
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class Child:
    def __init__(self, name: str, argv: Sequence[str], env: dict[str, str], *, ready_marker: str = "") -> None:
        self.name = name
        self.argv = list(argv)
        self.ready = threading.Event()
        self._ready_marker = ready_marker
        # Its own session and process group: stopping it stops its whole tree
        # (gunicorn's and Celery's pool processes) with one killpg.
        self.process = subprocess.Popen(
            self.argv,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        self._reader = threading.Thread(target=self._pump, args=(self.process.stdout,), daemon=True)
        self._reader.start()

    def _pump(self, stream: IO[bytes] | None) -> None:
        if stream is None:
            return
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip()
            if self._ready_marker and self._ready_marker in line:
                self.ready.set()
            say(line, name=self.name)

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signum)

    def wait_output(self) -> None:
        self._reader.join(timeout=1)


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As the servers themselves do: a port in TIME_WAIT after a restart is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def wait_for_free_port(port: int, host: str, *, timeout: float, stopping: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + timeout
    while not port_is_free(port, host):
        if stopping() or time.monotonic() >= deadline:
            return False
        time.sleep(0.2)
    return True


def wait_for_http(url: str, *, timeout: float, children: Sequence[Child], stopping: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stopping() or any(not child.alive() for child in children):
            return False
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own http://127.0.0.1 URL
                return True
        except urllib.error.HTTPError:
            return True  # it answered, even if with an error page
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    return False


def ping_tcp(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.3):
            return True
    except OSError:
        return False


def redact(url: str) -> str:
    """The URL with its password hidden: the banner ends up in terminals and CI logs."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


class Supervisor:
    """Runs ``children`` (and ``services``, started first and stopped last) until a signal or a death."""

    name = "run"  # the prefix of the supervisor's own lines

    def __init__(self) -> None:
        self.children: list[Child] = []
        # Started first, stopped last: the workers need the broker to shut down cleanly.
        self.services: list[Child | subprocess.Popen[bytes]] = []
        self.stopping = False

    def on_signal(self, signum: int, frame: Any) -> None:
        if not self.stopping:
            say(f"received {signal.Signals(signum).name}: stopping everything", name=self.name)
        self.stopping = True

    def run(self) -> int:
        """Override: start the children, then return ``self.watch()``."""
        raise NotImplementedError

    def main(self) -> int:
        signal.signal(signal.SIGINT, self.on_signal)
        signal.signal(signal.SIGTERM, self.on_signal)
        signal.signal(signal.SIGHUP, self.on_signal)
        try:
            return self.run()
        finally:
            self.stop_all()
            say("everything stopped", name=self.name)

    def watch(self) -> int:
        """Until a signal: 0; as soon as a child or service dies on its own: 1."""
        while not self.stopping:
            for child in self.children + [s for s in self.services if isinstance(s, Child)]:
                if not child.alive() and not self.stopping:
                    status = child.process.returncode
                    say(f"{child.name} exited unexpectedly with status {status}: stopping everything", name=self.name)
                    return 1
            for service in self.services:
                if isinstance(service, subprocess.Popen) and service.poll() is not None and not self.stopping:
                    status = service.returncode
                    say(f"redis exited unexpectedly with status {status}: stopping everything", name=self.name)
                    return 1
            time.sleep(0.3)
        return 0

    def stop_all(self) -> None:
        self.stopping = True
        for child in self.children:
            child.signal(signal.SIGTERM)
        self._wait([child.process for child in self.children], groups=self.children)
        for service in reversed(self.services):
            if isinstance(service, Child):
                service.signal(signal.SIGTERM)
                self._wait([service.process], groups=[service])
            else:
                if service.poll() is None:
                    service.terminate()
                self._wait([service], groups=[])
        for child in self.children:
            child.wait_output()

    def _wait(self, processes: Sequence[subprocess.Popen[bytes]], *, groups: Sequence[Child]) -> None:
        deadline = time.monotonic() + STOP_TIMEOUT
        while time.monotonic() < deadline and any(p.poll() is None for p in processes):
            time.sleep(0.1)
        for group in groups:
            # Pool processes may outlive a parent that was slow to stop.
            group.signal(signal.SIGKILL)
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
