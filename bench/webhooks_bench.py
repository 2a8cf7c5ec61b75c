"""What outgoing webhooks cost: per event when they are written, per delivery when they are sent.

Usage: .venv/bin/python bench/webhooks_bench.py [EVENTS]

Builds a throw-away database (PostgreSQL ``tocsin_webhooks``, or
BENCH_DATABASE_URL, dropped afterwards; SQLite when no Postgres answers:
bench/common.py) and a local HTTP receiver that answers 200 at once, then:

1. confirms EVENTS people with ``subscribe`` (no double opt-in), with no
   endpoint, then with one endpoint subscribed: the difference is what
   writing a delivery adds to an event's transaction;
2. sends those deliveries with ``delivering.deliver`` one after another in
   this one process (claim, sign, resolve, POST, record), as one worker
   process does.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("CACHE_URL", "locmem://")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["TOCSIN_WEBHOOK_ALLOW_PRIVATE"] = "1"

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

_URL, _drop_database, _ = common.throwaway_database("webhooks")
os.environ["DATABASE_URL"] = _URL

import django  # noqa: E402

django.setup()

from django.apps import apps  # noqa: E402
from django.db import connection  # noqa: E402


class Answer200(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


def confirm_many(count: int, prefix: str) -> float:
    from subscribers.models import MailingList
    from subscribers.services import subscribe

    news = MailingList.objects.get_or_create(slug="news", defaults={"name": "News"})[0]
    started = time.perf_counter()
    for n in range(count):
        subscribe(email=f"{prefix}{n}@example.org", name="Ana", lists=[news], source="api", double_opt_in=False)
    return time.perf_counter() - started


def main(count: int) -> None:
    from integrations import delivering, signing
    from integrations.models import Endpoint, WebhookDelivery

    with connection.schema_editor() as editor:
        for model in apps.get_models():
            editor.create_model(model)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer200)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    without = confirm_many(count, "plain")
    Endpoint.objects.create(
        url=f"http://127.0.0.1:{server.server_address[1]}/hook",
        events=["subscriber.confirmed"],
        secret=signing.new_secret(),
    )
    with_endpoint = confirm_many(count, "hooked")
    print(f"  {count} confirmations, no endpoint:  {without / count * 1000:.2f} ms each")
    print(f"  {count} confirmations, one endpoint: {with_endpoint / count * 1000:.2f} ms each")
    print(f"  writing the delivery adds {(with_endpoint - without) / count * 1000:.2f} ms to an event")

    ids = list(WebhookDelivery.objects.order_by("id").values_list("id", flat=True))
    started = time.perf_counter()
    for delivery_id in ids:
        delivering.deliver(delivery_id)
    elapsed = time.perf_counter() - started
    delivered = WebhookDelivery.objects.filter(status=WebhookDelivery.Status.DELIVERED).count()
    print(f"  sent {delivered}/{len(ids)} deliveries in {elapsed:.2f} s: {len(ids) / elapsed:.0f}/s in one process")
    server.shutdown()


if __name__ == "__main__":
    try:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
    finally:
        connection.close()
        _drop_database()
