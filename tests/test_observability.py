"""Error reports to Sentry only with SENTRY_DSN, without passwords; log formats (config/observability.py).

Each case is a real Python process started with Tocsin's own settings (as
gunicorn or a worker would be), so what is tested is the path from the
environment variable to the report, not a mock of sentry-sdk.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.http import HTTPReceiver, receiving
from tests.support.waiting import wait_for_process

ROOT = Path(__file__).resolve().parent.parent

# A view that fails with a URL holding a password in its message, as a
# connection error quoting DATABASE_URL would; requested through Django.
_FAILING_REQUEST = """
import sys, types
import django
django.setup()
from django.conf import settings
from django.test import Client, override_settings
from django.urls import include, path

def broken(request):
    raise RuntimeError("cannot reach postgres://tocsin:hunter2-secret@db.example.org/tocsin")

urls = types.ModuleType("broken_urls")
urls.urlpatterns = [path("broken", broken), path("", include("config.urls"))]
sys.modules["broken_urls"] = urls
with override_settings(ROOT_URLCONF="broken_urls"):
    print(Client(raise_request_exception=False).get("/broken").status_code)
import sentry_sdk
sentry_sdk.flush(timeout=10)
print("sentry on" if settings.SENTRY_ENABLED else "sentry off")
"""


@pytest.fixture
def sentry() -> Iterator[HTTPReceiver]:
    """Sentry's ingest endpoint on 127.0.0.1 (the SDK gzips its envelopes; the receiver unzips them)."""
    with receiving(lambda request: (200, {}, b"{}")) as server:
        yield server


def dsn(server: HTTPReceiver) -> str:
    return f"http://publickey@127.0.0.1:{server.port}/1"


def run_tocsin(code: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("SENTRY_", "LOG_FORMAT"))}
    environment.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        TOCSIN_VAR_DIR=str(tmp_path / "var"),
        ALLOWED_HOSTS="testserver",
        **env,
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


def events(bodies: list[bytes]) -> list[dict]:
    """The event items of Sentry envelopes (a header line, then item header and payload lines)."""
    found = []
    for body in bodies:
        lines = body.decode().splitlines()
        for header, payload in zip(lines[1::2], lines[2::2], strict=False):
            if json.loads(header).get("type") == "event":
                found.append(json.loads(payload))
    return found


def answers_200(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def test_with_sentry_dsn_an_unhandled_error_is_reported_without_the_password(sentry, tmp_path):
    result = run_tocsin(_FAILING_REQUEST, tmp_path, SENTRY_DSN=dsn(sentry), SENTRY_ENVIRONMENT="staging")

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["500", "sentry", "on"]
    [event] = events([request.body for request in sentry.requests])
    assert event["environment"] == "staging"
    exception = next(value for value in event["exception"]["values"] if value["type"] == "RuntimeError")
    assert exception["value"].startswith("cannot reach postgres://tocsin:")
    everything = b"".join([request.body for request in sentry.requests])
    assert b"hunter2-secret" not in everything


def test_without_sentry_dsn_nothing_is_sent(sentry, tmp_path):
    result = run_tocsin(_FAILING_REQUEST, tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["500", "sentry", "off"]
    assert [request.body for request in sentry.requests] == []


def test_an_unknown_log_format_stops_the_process_at_start(tmp_path):
    result = run_tocsin("import django; django.setup()", tmp_path, LOG_FORMAT="xml")

    assert result.returncode != 0
    assert "LOG_FORMAT='xml': use plain or json" in result.stderr


def test_with_log_format_json_every_django_log_line_is_a_json_object(tmp_path):
    code = "import django, logging; django.setup(); logging.getLogger('tocsin.test').warning('line with \"quotes\"')"
    result = run_tocsin(code, tmp_path, LOG_FORMAT="json")

    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    mine = next(line for line in lines if line["logger"] == "tocsin.test")
    assert mine["message"] == 'line with "quotes"'
    assert mine["level"] == "WARNING"
    assert "time" in mine


def test_with_log_format_json_gunicorn_writes_its_access_and_error_logs_as_json(tmp_path):
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("SENTRY_", "LOG_FORMAT"))}
    environment.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        TOCSIN_VAR_DIR=str(tmp_path / "var"),
        LOG_FORMAT="json",
    )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    argv = [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--config", "config/gunicorn.py",
            "--bind", f"127.0.0.1:{port}", "--workers", "1", "--access-logfile", "-"]  # fmt: skip
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as out:
        server = subprocess.Popen(argv, cwd=ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for_process(
            lambda: answers_200(f"http://127.0.0.1:{port}/healthz"),
            lambda: server.poll() is None,
            timeout=60,
            describe=log.read_text,
            interval=0.3,
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    assert any(line["logger"] == "gunicorn.error" and "Listening at" in line["message"] for line in lines)
    assert any(
        line["logger"] == "gunicorn.access" and '"GET /healthz HTTP/1.1" 200' in line["message"] for line in lines
    )
