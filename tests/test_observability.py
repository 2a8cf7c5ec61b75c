"""Error reports to Sentry only with SENTRY_DSN, without passwords; log formats (config/observability.py).

Each case is a real Python process started with Tocsin's own settings (as
gunicorn or a worker would be), so what is tested is the path from the
environment variable to the report, not a mock of sentry-sdk.
"""

from __future__ import annotations

import gzip
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

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


class FakeSentry(BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        FakeSentry.received.append(body)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def sentry_server() -> Iterator[str]:
    FakeSentry.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeSentry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://publickey@127.0.0.1:{server.server_address[1]}/1"
    finally:
        server.shutdown()
        server.server_close()


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


def test_with_sentry_dsn_an_unhandled_error_is_reported_without_the_password(sentry_server, tmp_path):
    result = run_tocsin(_FAILING_REQUEST, tmp_path, SENTRY_DSN=sentry_server, SENTRY_ENVIRONMENT="staging")

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["500", "sentry", "on"]
    [event] = events(FakeSentry.received)
    assert event["environment"] == "staging"
    exception = next(value for value in event["exception"]["values"] if value["type"] == "RuntimeError")
    assert exception["value"].startswith("cannot reach postgres://tocsin:")
    everything = b"".join(FakeSentry.received)
    assert b"hunter2-secret" not in everything


def test_without_sentry_dsn_nothing_is_sent(sentry_server, tmp_path):
    result = run_tocsin(_FAILING_REQUEST, tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["500", "sentry", "off"]
    assert FakeSentry.received == []


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
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, log.read_text()
                time.sleep(0.3)
    finally:
        server.terminate()
        server.wait(timeout=30)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    assert any(line["logger"] == "gunicorn.error" and "Listening at" in line["message"] for line in lines)
    assert any(
        line["logger"] == "gunicorn.access" and '"GET /healthz HTTP/1.1" 200' in line["message"] for line in lines
    )
