"""`make run` on a machine with no Redis: scripts/run.py starts its own, and stops everything.

The machine's own Redis (if any) is never touched: the default address run.py
probes is moved (TOCSIN_DEFAULT_REDIS_PORT) to a port where nothing answers,
so run.py must take the "start our own redis-server" path. Needs neither
PostgreSQL nor Redis, so it runs everywhere, CI included.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import smtplib
import socket
import sqlite3
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
import redis
from django.core import signing

from tests.support.waiting import wait_for_process

ROOT = Path(__file__).resolve().parent.parent
# Generous: a loaded 2-core CI machine migrates, seeds and boots five processes.
START_TIMEOUT = 120


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError):
        return None


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def descendants(root: int) -> set[int]:
    """Every live process below ``root``, found through /proc (Linux)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: split after the last ")".
        fields = stat.rsplit(")", 1)[1].split()
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: set[int] = set()
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has stopped; only its parent's bookkeeping is left


def models_without_migrations() -> list[str]:
    """Apps whose models have changed since their last migration (what makemigrations --check sees)."""
    from django.apps import apps
    from django.db.migrations.autodetector import MigrationAutodetector
    from django.db.migrations.loader import MigrationLoader
    from django.db.migrations.state import ProjectState

    loader = MigrationLoader(None, ignore_no_migrations=True)
    changes = MigrationAutodetector(loader.project_state(), ProjectState.from_apps(apps)).changes(graph=loader.graph)
    return sorted(changes)


@pytest.fixture(scope="module")
def _migrations_match_models() -> None:
    # run.py migrates a real database: with models ahead of their migrations
    # the site answers 500. tests/test_migrations.py names the culprit; here
    # that is a skip with the reason (and under CI=true a skip fails the run).
    pending = models_without_migrations()
    if pending:
        pytest.skip(f"models of {', '.join(pending)} have changes with no migration yet: run makemigrations")


@pytest.fixture(scope="module")
def var_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Shared by this module's runs: the second one migrates and seeds nothing new.
    return tmp_path_factory.mktemp("run")


@pytest.fixture
def run_env(var_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    # A fresh installation: no secrets either (tests/settings.py puts the suite's own in os.environ).
    for name in (
        "REDIS_URL",
        "CACHE_URL",
        "CELERY_BROKER_URL",
        "EMAIL_URL",
        "ESP",
        "SITE_URL",
        "DEBUG",
        "SECRET_KEY",
        "WEBHOOK_SECRET",
        "DJANGO_SETTINGS_MODULE",
    ):
        env.pop(name, None)
    env.update(
        {
            "TOCSIN_VAR_DIR": str(var_dir / "var"),
            "DATABASE_URL": f"sqlite:///{var_dir / 'tocsin.sqlite3'}",
            "PORT": str(free_port()),
            # Nothing answers there: run.py must start a Redis of its own.
            "TOCSIN_DEFAULT_REDIS_PORT": str(free_port()),
            "TOCSIN_CATCHER_SMTP_PORT": str(free_port()),
            "TOCSIN_CATCHER_HTTP_PORT": str(free_port()),
        }
    )
    return env


@pytest.fixture
def running(
    _migrations_match_models: None, run_env: dict[str, str], tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "scripts" / "run.py")],
            cwd=ROOT,
            env=run_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, like `make run` in a terminal
        )
    try:
        yield process, log
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_until_up(process: subprocess.Popen[bytes], log: Path, port: str) -> str:
    wait_for_process(
        lambda: "Tocsin is running" in log.read_text() and answers(f"http://127.0.0.1:{port}/") == 200,
        lambda: process.poll() is None,
        timeout=START_TIMEOUT,
        describe=lambda: f"run.py did not come up (or exited early):\n{log.read_text()}",
        interval=0.5,
    )
    return log.read_text()


# The key config/settings.py used when SECRET_KEY was unset, public in the repository's history.
OLD_PUBLIC_KEY = "django-insecure-tocsin-development-key-change-me-in-production"


def post(url: str, body: bytes, headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(url, data=body, headers=headers or {}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def assert_webhooks_need_the_printed_credentials(output: str, port: int) -> None:
    match = re.search(r"Webhooks:\s+http://([^:@/\s]+):([^@/\s]+)@127\.0\.0\.1:(\d+)/anymail/<esp>/tracking/", output)
    assert match, output
    user, password = match.group(1), match.group(2)
    assert int(match.group(3)) == port
    bounce = json.dumps(
        {
            "RecordType": "Bounce",
            "Type": "HardBounce",
            "TypeCode": 1,
            "ID": 42,
            "MessageID": "forged-id",
            "Email": "ana.quispe@example.org",
            "BouncedAt": "2025-01-01T00:00:00Z",
            "Details": "550 no such user",
        }
    ).encode()
    url = f"http://127.0.0.1:{port}/anymail/postmark/tracking/"
    json_type = {"Content-Type": "application/json"}
    assert post(url, bounce, json_type) == 400  # no credentials: refused (Anymail answers 400)
    wrong = base64.b64encode(f"{user}:not-the-password".encode()).decode()
    assert post(url, bounce, {**json_type, "Authorization": f"Basic {wrong}"}) == 400
    right = base64.b64encode(f"{user}:{password}".encode()).decode()
    assert post(url, bounce, {**json_type, "Authorization": f"Basic {right}"}) == 200


def assert_links_signed_with_the_repository_s_old_key_are_refused(port: int, run_env: dict[str, str]) -> None:
    database = run_env["DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(database) as db:
        [(subscriber_id,)] = db.execute(
            "SELECT id FROM subscribers_subscriber WHERE status = 'confirmed' ORDER BY id LIMIT 1"
        ).fetchall()
    forged = signing.Signer(key=OLD_PUBLIC_KEY, salt="tocsin.unsubscribe").sign(str(subscriber_id))
    status = post(
        f"http://127.0.0.1:{port}/unsubscribe/{forged}/",
        b"List-Unsubscribe=One-Click",
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status >= 400
    with sqlite3.connect(database) as db:
        [(state,)] = db.execute("SELECT status FROM subscribers_subscriber WHERE id = ?", (subscriber_id,)).fetchall()
    assert state == "confirmed"


def test_make_run_starts_its_own_redis_and_stops_everything_on_sigterm(running, run_env):
    process, log = running
    port = run_env["PORT"]
    output = wait_until_up(process, log, port)

    assert answers(f"http://127.0.0.1:{port}/") == 200
    assert answers(f"http://127.0.0.1:{port}/admin/login/") == 200
    assert answers(f"http://127.0.0.1:{port}/static/admin/css/base.css") == 200

    # The banner names the Redis it started, and that Redis is real.
    match = re.search(r"Redis:\s+(redis://127\.0\.0\.1:(\d+)/0) \(our own redis-server", output)
    assert match, output
    redis_url, redis_port = match.group(1), int(match.group(2))
    assert redis_port == int(run_env["TOCSIN_DEFAULT_REDIS_PORT"])
    assert redis.Redis.from_url(redis_url, socket_connect_timeout=2).ping()

    catcher_port = int(run_env["TOCSIN_CATCHER_HTTP_PORT"])
    assert f"http://127.0.0.1:{catcher_port}/" in output
    assert answers(f"http://127.0.0.1:{catcher_port}/") == 200
    assert "demo / " in output
    assert re.search(r"Backup code:\s+\d{8} \(the 8-digit code the two-step page asks for", output), output
    assert_webhooks_need_the_printed_credentials(output, int(port))
    assert_links_signed_with_the_repository_s_old_key_are_refused(int(port), run_env)

    children = descendants(process.pid)
    assert len(children) >= 6  # web, two workers, beat, redis, catcher, and their pools

    os.killpg(process.pid, signal.SIGTERM)
    assert process.wait(timeout=60) == 0

    still_alive = {pid for pid in children if alive(pid)}
    assert not still_alive, f"left running: {still_alive}\n{log.read_text()}"
    for port_number in (int(port), redis_port, catcher_port, int(run_env["TOCSIN_CATCHER_SMTP_PORT"])):
        assert not listening(port_number), f"something still listens on {port_number}"


def test_make_run_stops_everything_when_one_process_dies(running, run_env):
    process, log = running
    wait_until_up(process, log, run_env["PORT"])
    children = descendants(process.pid)
    beat = next(pid for pid in children if b"beat" in Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" "))

    os.kill(beat, signal.SIGKILL)

    assert process.wait(timeout=60) != 0
    assert "beat exited unexpectedly" in log.read_text()
    still_alive = {pid for pid in children if alive(pid)}
    assert not still_alive, f"left running: {still_alive}"


def hold_port(port: int) -> socket.socket:
    """A listening socket on ``port``, as a child of a crashed run that is still shutting down holds it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", port))
    sock.listen()
    return sock


def test_a_restart_right_after_a_crash_waits_for_the_port_to_be_released(request, run_env):
    port = int(run_env["PORT"])
    holder = hold_port(port)
    # Let go two seconds in, while run.py is already looking at the port.
    release = threading.Timer(2.0, holder.close)
    try:
        process, log = request.getfixturevalue("running")
        release.start()
        output = wait_until_up(process, log, run_env["PORT"])
    finally:
        release.cancel()
        holder.close()
    assert f"port {port} is in use: waiting" in output
    os.killpg(process.pid, signal.SIGTERM)
    assert process.wait(timeout=60) == 0


def test_make_run_gives_up_on_a_port_that_stays_busy(run_env, tmp_path):
    port = int(run_env["PORT"])
    with hold_port(port):
        result = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "run.py")],
            cwd=ROOT,
            env=run_env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 2
    assert f"port {port} is already in use" in result.stdout
    # It gave up before starting anything: no Redis, no mail catcher.
    assert "redis-server" not in result.stdout


def test_env_example_lists_every_variable_the_settings_read():
    """A newcomer finds every setting in .env.example (config/settings.py's typed readers, run.py's own)."""
    sources = "".join(path.read_text() for path in (ROOT / "config").glob("*.py"))
    read = set(re.findall(r"env_(?:str|bool|int|float|list)\(\s*[\"']([A-Z][A-Z0-9_]*)[\"']", sources))
    read |= set(re.findall(r"env\.get\(\"([A-Z][A-Z0-9_]*)\"\)", (ROOT / "scripts" / "run.py").read_text()))
    listed = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    assert read - listed == set(), "add these to .env.example"


def test_the_mail_catcher_stores_each_message_and_shows_it_escaped(tmp_path):
    sys.path.insert(0, str(ROOT / "scripts"))
    import mailcatcher

    smtp_port, http_port = free_port(), free_port()
    controller, httpd = mailcatcher.start(mail_dir=tmp_path / "mail", smtp_port=smtp_port, http_port=http_port)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        message = EmailMessage()
        message["Subject"] = "Urgent <script>alert(1)</script>"
        message["From"] = "bulletin@example.org"
        message["To"] = "ana@example.org"
        message.set_content("Plain text & more")
        message.add_alternative("<p>Hello <b>Ana</b></p>", subtype="html")
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as smtp:
            smtp.send_message(message)

        [stored] = list((tmp_path / "mail").glob("*.eml"))
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/", timeout=5) as response:
            index = response.read().decode()
        assert "ana@example.org" in index
        assert "Urgent &lt;script&gt;alert(1)&lt;/script&gt;" in index
        assert "<script>" not in index
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/m/{stored.name}", timeout=5) as response:
            page = response.read().decode()
        assert "Plain text &amp; more" in page
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/m/{stored.name}/html", timeout=5) as response:
            assert "<b>Ana</b>" in response.read().decode()
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/m/{stored.name}/raw", timeout=5) as response:
            assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
            assert "X-Catcher-Rcpt-To: ana@example.org" in response.read().decode()
        assert answers(f"http://127.0.0.1:{http_port}/m/..%2F..%2Fetc%2Fpasswd") == 404
        assert answers(f"http://127.0.0.1:{http_port}/m/..%2F..%2Fetc%2Fpasswd/raw") == 404
        assert answers(f"http://127.0.0.1:{http_port}/elsewhere") == 404
    finally:
        httpd.shutdown()
        httpd.server_close()
        controller.stop()
