"""Other machines, as `make worker` starts them: scripts/worker.py under a host name of its own.

Each "machine" is scripts/worker.py in a UTS namespace of its own
(``unshare --uts``, then ``sethostname``): Celery's ``%h``, the node names and
the heartbeats see ``machine-a`` or ``machine-b`` exactly as on separate hosts.
It shares only DATABASE_URL and REDIS_URL with the test (the web machine)
and sends through its own EMAIL_URL.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.support import ROOT
from tests.support.workers import WorkerProcess, spawn, worker_env

# Runs inside the new UTS namespace: name the "machine", then become worker.py.
AS_HOST = "import os, socket, sys; socket.sethostname(sys.argv[1]); os.execv(sys.argv[2], sys.argv[2:])"
BANNER = "Tocsin workers are running on"


def record_migrations_as_applied() -> None:
    """pytest-django builds the test database from the models (--nomigrations); a real one records
    its migrations, and `make worker` refuses a database that lacks any."""
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "migrate", "--fake", "--no-input", "-v", "0"],
        cwd=ROOT, env=machine_env("smtp://127.0.0.1:1"), check=True,
    )  # fmt: skip


def machine_env(email_url: str, **extra: str) -> dict[str, str]:
    return worker_env(email_url, **extra)


def start_machine(hostname: str, email_url: str, **extra_env: str) -> WorkerProcess:
    """`make worker` on ``hostname``; returns once its banner says every worker is ready."""
    command = ["unshare", "--uts", sys.executable, "-c", AS_HOST, hostname,
               sys.executable, str(ROOT / "scripts" / "worker.py")]  # fmt: skip
    machine = spawn(command, machine_env(email_url, **extra_env))
    try:
        machine.wait_for_line(BANNER, what=hostname)
    except BaseException:
        machine.stop()
        raise
    return machine


def process_tree(root: int) -> list[int]:
    """``root`` and every live process below it (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, stack = [root], [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def pull_the_plug(machine: WorkerProcess) -> None:
    """SIGKILL to every process of the machine at once, as a power cut would: no warm shutdown, no goodbye."""
    for pid in reversed(process_tree(machine.process.pid)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    machine.process.wait()
