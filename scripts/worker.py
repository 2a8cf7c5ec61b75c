"""`make worker`: only Celery workers, for another machine that shares DATABASE_URL and REDIS_URL.

It starts the same split as `make run` (scripts/run.py): one worker for the
``default`` and ``bulk`` queues, and one that serves ``urgent`` alone, because
kombu's Redis transport reads queues in turn and an alert must never wait
behind a bulletin's batches. ``QUEUES`` (comma-separated) narrows it; an
``urgent`` among them still gets a worker of its own.

Node names are ``<queues>-<pid>@<host name>``: two machines differ by host
name, two `make worker` on one machine by process id, so their heartbeats
(config/health.py) and Celery's remote control never mix them up.

Nothing here migrates, loads demo content, or starts Redis or a mail catcher:
the web machine owns the database schema, and each worker machine sends
through its own ``EMAIL_URL`` or ``ESP``. In the foreground; Ctrl-C (SIGINT or
SIGTERM to its process group) stops the workers with Celery's warm shutdown.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from local_redis import ping
from processes import ROOT, Child, Supervisor, print_block, redact, say

ALL_QUEUES = ("urgent", "default", "bulk")
READY_TIMEOUT = 90.0


class Refused(Exception):
    """A setting that would make this worker machine do harm (or nothing): say which, and start nothing."""


@dataclass(frozen=True)
class WorkerSpec:
    name: str  # the output prefix
    queues: tuple[str, ...]
    concurrency: str
    node: str

    def describe(self) -> str:
        processes = "process" if self.concurrency == "1" else "processes"
        node = self.node.replace("%h", socket.gethostname())
        return f"{node} ({','.join(self.queues)}; {self.concurrency} {processes})"


def worker_concurrency(env: dict[str, str]) -> str:
    """Pool processes for the default/bulk worker: two per core unless WORKER_CONCURRENCY says.

    A sending process spends about half its time waiting for Postgres and the
    mail server, so two per core keep the cores busy (bench/send_bench.py:
    1,166 emails/s with 2 processes on 2 cores, 1,328/s with 4). On SQLite
    every writer waits for one file lock: two processes, as before.
    """
    if env.get("WORKER_CONCURRENCY"):
        return env["WORKER_CONCURRENCY"]
    if not env.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        return "2"
    return str(2 * (os.cpu_count() or 1))


def parse_queues(raw: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(name.strip() for name in raw.split(",") if name.strip()))
    unknown = [name for name in names if name not in ALL_QUEUES]
    if unknown or not names:
        raise Refused(f"QUEUES={raw!r}: name one or more of {', '.join(ALL_QUEUES)}, separated by commas")
    return names


def worker_specs(env: dict[str, str], *, queues: tuple[str, ...], tag: int) -> list[WorkerSpec]:
    """The workers that serve ``queues``: urgent alone, the others together."""
    specs = []
    rest = tuple(queue for queue in queues if queue != "urgent")
    if rest:
        specs.append(WorkerSpec("worker", rest, worker_concurrency(env), f"{'-'.join(rest)}-{tag}@%h"))
    if "urgent" in queues:
        specs.append(WorkerSpec("urgent", ("urgent",), "1", f"urgent-{tag}@%h"))
    return specs


def celery(python: str, env: dict[str, str]) -> list[str]:
    # With JSON logs, no ASCII-art banner on stdout: every line stays JSON.
    quiet = ["--quiet"] if env.get("LOG_FORMAT", "").strip().lower() == "json" else []
    return [python, "-m", "celery", "-A", "config", *quiet]


def celery_argv(python: str, spec: WorkerSpec, env: dict[str, str]) -> list[str]:
    return [
        *celery(python, env), "worker",
        "-Q", ",".join(spec.queues), "-c", spec.concurrency, "-n", spec.node, "--loglevel", "INFO",
    ]  # fmt: skip


def mail_note(env: dict[str, str]) -> str:
    if env.get("ESP"):
        return f"through the {env['ESP']} provider (ESP={env['ESP']})"
    return f"by SMTP to {redact(env['EMAIL_URL'])} (EMAIL_URL)"


def check_environment(env: dict[str, str], var_dir: Path) -> list[str]:
    """Refuse what would send wrong email; return warnings for what only works on the web's own machine."""
    if not env.get("EMAIL_URL") and not env.get("ESP"):
        raise Refused(
            "set EMAIL_URL (smtp://host:port) or ESP (and its ANYMAIL_* settings): "
            "a worker machine sends through its own mail server or provider"
        )
    if not env.get("SECRET_KEY") and not (var_dir / "secret-key.txt").exists():
        raise Refused(
            "set SECRET_KEY to the web machine's key (its var/secret-key.txt): workers sign the "
            "unsubscribe and preference links in every email, and a key of their own would break them"
        )
    warnings = []
    if not env.get("DATABASE_URL"):
        warnings.append("DATABASE_URL is unset: the SQLite file under var/, shared only with this machine's make run")
    if not env.get("REDIS_URL"):
        warnings.append("REDIS_URL is unset: redis://127.0.0.1:6379/0, shared only with this machine's make run")
    if not env.get("SITE_URL"):
        warnings.append("SITE_URL is unset: links in emails will point at http://127.0.0.1:8000")
    return warnings


class WorkerRunner(Supervisor):
    name = "workers"

    def run(self) -> int:
        python = sys.executable
        env = dict(os.environ)
        env["PYTHONUNBUFFERED"] = "1"
        env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        var_dir = Path(env.get("TOCSIN_VAR_DIR") or ROOT / "var")
        try:
            warnings = check_environment(env, var_dir)
            specs = worker_specs(env, queues=parse_queues(env.get("QUEUES") or ",".join(ALL_QUEUES)), tag=os.getpid())
        except Refused as refusal:
            say(f"not starting: {refusal}", name=self.name)
            return 2
        for warning in warnings:
            say(f"warning: {warning}", name=self.name)
        redis_url = env.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
        parts = urlsplit(redis_url)
        if parts.scheme == "redis" and not ping(parts.hostname or "127.0.0.1", parts.port or 6379):
            say(f"warning: nothing answers at {redact(redis_url)}; the workers will keep retrying", name=self.name)
        if not self._database_ready(python, env):
            return 1
        if self.stopping:
            return 0
        self.children = [
            Child(spec.name, celery_argv(python, spec, env), env, ready_marker=" ready.") for spec in specs
        ]
        if not self._wait_ready():
            return 0 if self.stopping else 1
        self._banner(env, specs, redis_url)
        return self.watch()

    def _database_ready(self, python: str, env: dict[str, str]) -> bool:
        """The database answers and has every migration this code expects (the web machine applies them)."""
        result = subprocess.run(
            [python, str(ROOT / "manage.py"), "migrate", "--check", "--no-input"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode == 0 or self.stopping:
            return True
        said = [line for line in (result.stdout + result.stderr).splitlines() if line.strip() and " INFO " not in line]
        say(
            "not starting: the database does not answer, or lacks migrations this code needs "
            "(run `manage.py migrate` where the web runs)",
            name=self.name,
        )
        for line in said[-3:]:
            say(redact(line), name=self.name)
        return False

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + READY_TIMEOUT
        while not all(child.ready.is_set() for child in self.children):
            if self.stopping:
                return False
            dead = [child.name for child in self.children if not child.alive()]
            if dead or time.monotonic() > deadline:
                say(f"{', '.join(dead) or 'a worker'} did not come up; see the output above", name=self.name)
                return False
            time.sleep(0.2)
        return True

    def _banner(self, env: dict[str, str], specs: list[WorkerSpec], redis_url: str) -> None:
        database = env.get("DATABASE_URL") or "sqlite (var/tocsin.sqlite3)"
        print_block(
            [
                "",
                f"Tocsin workers are running on {socket.gethostname()}. Ctrl-C stops them.",
                "",
                f"  Database:  {redact(database)}",
                f"  Redis:     {redact(redis_url)}",
                f"  Mail:      {mail_note(env)}",
                *(f"  Worker:    {spec.describe()}" for spec in specs),
                "  Web and beat run elsewhere (make run, or deploy/tocsin-web.service and tocsin-beat.service).",
                "",
            ]
        )


if __name__ == "__main__":
    sys.exit(WorkerRunner().main())
