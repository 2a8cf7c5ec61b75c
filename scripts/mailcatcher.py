"""A local mail catcher for `make run`: SMTP in, a web page to read what arrived.

Every message received on 127.0.0.1:TOCSIN_CATCHER_SMTP_PORT (default 1025)
is stored as ``var/mail/<timestamp>-<n>.eml``; the viewer on
127.0.0.1:TOCSIN_CATCHER_HTTP_PORT (default 8025) lists them (subject, to,
date) and shows each one's text and HTML parts. Nothing leaves the machine.

Run alone with ``python scripts/mailcatcher.py``; run.py starts it for you.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import html
import os
import signal
import sys
import threading
import time
from email.message import EmailMessage
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session

_NAME_OK = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


class StoreHandler:
    """aiosmtpd handler: one .eml file per message, written atomically."""

    def __init__(self, mail_dir: Path) -> None:
        self.mail_dir = mail_dir
        self._counter = 0
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        with self._lock:
            self._counter += 1
            name = f"{time.strftime('%Y%m%d-%H%M%S')}-{time.time_ns() % 10**9:09d}-{self._counter}.eml"
        data = envelope.original_content or b""
        # The envelope recipients are who it really went to (Bcc included).
        header = f"X-Catcher-Rcpt-To: {', '.join(envelope.rcpt_tos)}\r\n".encode()
        temp = self.mail_dir / (name + ".tmp")
        temp.write_bytes(header + data)
        temp.rename(self.mail_dir / name)
        return "250 Message accepted for delivery"


def _parse(path: Path) -> EmailMessage:
    with path.open("rb") as handle:
        message = email.message_from_binary_file(handle, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _part(message: EmailMessage, subtype: str) -> str | None:
    part = message.get_body(preferencelist=(subtype,))
    if part is None:
        return None
    try:
        return str(part.get_content())  # type: ignore[attr-defined]
    except (LookupError, UnicodeDecodeError):
        return part.get_payload(decode=True).decode("utf-8", "replace")  # type: ignore[union-attr]


_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;width:100%}td,th{padding:.4rem .6rem;border-bottom:1px solid #ddd;text-align:left}
pre{white-space:pre-wrap;background:#f6f6f6;padding:1rem}iframe{width:100%;height:70vh;border:1px solid #ccc}
.muted{color:#777}
"""


def index_page(mail_dir: Path) -> str:
    """The list of messages, newest first (at most 500)."""
    rows = []
    for file in sorted(mail_dir.glob("*.eml"), reverse=True)[:500]:
        try:
            message = _parse(file)
        except (OSError, ValueError):
            continue
        link = "/m/" + quote(file.name)
        rows.append(
            f"<tr><td>{html.escape(str(message.get('Date', '')))}</td>"
            f"<td>{html.escape(str(message.get('X-Catcher-Rcpt-To') or message.get('To', '')))}</td>"
            f'<td><a href="{html.escape(link)}">{html.escape(str(message.get("Subject", "(no subject)")))}</a>'
            "</td></tr>"
        )
    table = (
        "<table><tr><th>Date</th><th>To</th><th>Subject</th></tr>" + "".join(rows) + "</table>"
        if rows
        else '<p class="muted">No mail yet. Everything Tocsin sends shows up here.</p>'
    )
    return page(f"Mail catcher: {len(rows)} message(s)", table)


def message_page(file: Path) -> str:
    """One message: its headers, its HTML part in a sandboxed frame, its text part."""
    message = _parse(file)
    headers = "".join(
        f"<tr><th>{html.escape(key)}</th><td>{html.escape(str(value))}</td></tr>" for key, value in message.items()
    )
    text = _part(message, "plain")
    has_html = message.get_body(preferencelist=("html",)) is not None
    link = "/m/" + quote(file.name)
    body = f'<p><a href="/">All messages</a> · <a href="{html.escape(link)}/raw">Raw</a></p>'
    body += f"<table>{headers}</table>"
    if has_html:
        body += f'<h2>HTML part</h2><iframe sandbox src="{html.escape(link)}/html" title="HTML part"></iframe>'
    if text is not None:
        body += f"<h2>Text part</h2><pre>{html.escape(text)}</pre>"
    return page(str(message.get("Subject", "(no subject)")), body)


def page(title: str, content: str) -> str:
    return (
        f"<!doctype html><meta charset=utf-8><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style><h1>{html.escape(title)}</h1>{content}"
    )


def message_path(mail_dir: Path, raw: str) -> Path | None:
    """The stored message a URL names, or None: only our own file names, nothing outside ``mail_dir``."""
    name = unquote(raw)
    if not name.endswith(".eml") or not set(name) <= _NAME_OK or name.startswith("."):
        return None
    path = mail_dir / name
    return path if path.is_file() else None


class ViewerHandler(BaseHTTPRequestHandler):
    """The viewer's pages for the messages in ``mail_dir`` (set by ``make_handler``)."""

    server_version = "TocsinMailCatcher"
    mail_dir: Path

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, body: str, *, status: HTTPStatus = HTTPStatus.OK, content_type: str = "text/html") -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        # The HTML part is untrusted: shown in a sandboxed iframe, no scripts.
        self.send_header("Content-Security-Policy", "script-src 'none'; frame-ancestors 'self'")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/":
            self._send(index_page(self.mail_dir))
        elif path.startswith("/m/") and path.endswith("/html"):
            self._html_part(path.removeprefix("/m/").removesuffix("/html"))
        elif path.startswith("/m/") and path.endswith("/raw"):
            self._raw(path.removeprefix("/m/").removesuffix("/raw"))
        elif path.startswith("/m/"):
            self._message(path.removeprefix("/m/"))
        else:
            self._send(page("Not found", ""), status=HTTPStatus.NOT_FOUND)

    def _message(self, raw: str) -> None:
        file = message_path(self.mail_dir, raw)
        if file is None:
            self._send(page("Not found", ""), status=HTTPStatus.NOT_FOUND)
            return
        self._send(message_page(file))

    def _html_part(self, raw: str) -> None:
        file = message_path(self.mail_dir, raw)
        content = _part(_parse(file), "html") if file else None
        if content is None:
            self._send("", status=HTTPStatus.NOT_FOUND, content_type="text/plain")
            return
        self._send(content)

    def _raw(self, raw: str) -> None:
        file = message_path(self.mail_dir, raw)
        if file is None:
            self._send("", status=HTTPStatus.NOT_FOUND, content_type="text/plain")
            return
        self._send(file.read_bytes().decode("utf-8", "replace"), content_type="text/plain")


def make_handler(mail_dir: Path) -> type[BaseHTTPRequestHandler]:
    """The viewer's request handler class, reading ``mail_dir``."""
    return type("ViewerHandler", (ViewerHandler,), {"mail_dir": mail_dir})


def start(
    *, mail_dir: Path, smtp_port: int, http_port: int, host: str = "127.0.0.1"
) -> tuple[Controller, ThreadingHTTPServer]:
    """Start the SMTP side (its own thread) and bind the viewer; the caller runs ``serve_forever``."""
    mail_dir.mkdir(parents=True, exist_ok=True)
    controller = Controller(StoreHandler(mail_dir), hostname=host, port=smtp_port)
    controller.start()
    try:
        httpd = ThreadingHTTPServer((host, http_port), make_handler(mail_dir))
    except OSError:
        controller.stop()
        raise
    return controller, httpd


def serve(*, mail_dir: Path, smtp_port: int, http_port: int, host: str = "127.0.0.1") -> None:
    controller, httpd = start(mail_dir=mail_dir, smtp_port=smtp_port, http_port=http_port, host=host)

    def stop(signum: int, frame: Any) -> None:
        # shutdown() waits for serve_forever, so it must run on another thread.
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"SMTP on {host}:{smtp_port}, web on http://{host}:{http_port}/, files in {mail_dir}", flush=True)
    try:
        httpd.serve_forever(poll_interval=0.2)
    finally:
        httpd.server_close()
        controller.stop()


def main(argv: list[str] | None = None) -> int:
    root = Path(__file__).resolve().parent.parent
    var_dir = Path(os.environ.get("TOCSIN_VAR_DIR", root / "var"))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--smtp-port", type=int, default=int(os.environ.get("TOCSIN_CATCHER_SMTP_PORT", "1025")))
    parser.add_argument("--http-port", type=int, default=int(os.environ.get("TOCSIN_CATCHER_HTTP_PORT", "8025")))
    parser.add_argument("--dir", type=Path, default=var_dir / "mail")
    args = parser.parse_args(argv)
    serve(mail_dir=args.dir, smtp_port=args.smtp_port, http_port=args.http_port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
