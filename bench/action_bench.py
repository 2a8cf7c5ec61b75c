"""Signatures per second on the public action page, behind gunicorn (`make bench`; BENCH_ONLY=action).

An open petition in a throwaway database; gunicorn serves the site with
production settings (DEBUG off, CSRF on, every abuse check on) except the
per-IP rate limit, which the settings turn off (``TOCSIN_SIGNUP_RATE_LIMIT=0``:
all requests come from 127.0.0.1). The load generator reads the page once
for its CSRF cookie and token, then posts the form as a browser would, each
with a new address, from ``--connections`` concurrent connections, and
counts the 303 redirects to the thank-you page. The figure is checked
against the database (one signature row per 303), then printed.

Target (SPEC): at least 300 signatures/s on 2 cores. Options:
``--signatures`` (default 6000), ``--connections`` (default 16), ``--web-workers``
(gunicorn processes, default 4), ``--kind petition|letter`` (a letter also
finds the district and writes one letter row per target).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, prepare_environment

SLUG = "bench-petition"
TARGET = 300.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _seed(kind: str) -> None:
    from actions.models import Action, District, PostalPrefix, Target, TargetGroup

    mps = TargetGroup.objects.create(slug="mps", name="MPs")
    district = District.objects.create(code="99001", name="Bench Riding", province="ON")
    PostalPrefix.objects.create(prefix="K1A", district=district)
    mp = Target.objects.create(name="Bench MP", email="mp@bench.example.org", district=district)
    mp.groups.add(mps)
    fields = {
        "kind": kind,
        "title": "Free the water defenders",
        "body_markdown": "Five people have been held for four months. **Sign now.**",
        "status": Action.Status.OPEN,
        "goal": 100_000,
    }
    if kind == Action.Kind.LETTER:
        fields.update(
            letter_subject="Binding rules for mining companies",
            letter_body="As your constituent, I ask you to act.",
            target_group=mps,
            by_district=True,
        )
    Action.objects.create(slug=SLUG, **fields)


def _start_web(env: dict[str, str], port: int, workers: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--config", str(ROOT / "config" / "gunicorn.py"),
         "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--no-control-socket",
         "--backlog", "512", "--log-level", "warning"],
        cwd=ROOT, env={**os.environ, **env}, stdin=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip


def _cpu_seconds(root: int) -> float:
    """User + system CPU of gunicorn's master and workers so far (from /proc; 0 where unreadable)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # fields[1] is the parent pid, fields[11] and [12] utime and stime (man 5 proc, counted after the name).
        if int(entry.name) == root or int(fields[1]) == root:
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


async def _exchange(port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        return await reader.read()  # gunicorn's sync workers close the connection after each answer
    finally:
        writer.close()


async def _wait_until_up(port: int, deadline: float) -> None:
    while True:
        try:
            answer = await _exchange(port, _get(port))
            if answer.startswith(b"HTTP/1.1 200"):
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("gunicorn did not answer in time")
        await asyncio.sleep(0.2)


def _get(port: int) -> bytes:
    return f"GET /act/{SLUG}/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode()


def _post(port: int, cookie: str, token: str, n: int) -> bytes:
    body = urlencode(
        {
            "csrfmiddlewaretoken": token,
            "name": f"Supporter {n}",
            "email": f"supporter{n}@bench.example.org",
            "postal_code": "K1A 0B1",
            "message": "" if n % 3 else "Free them now.",
            "website": "",
        }
    ).encode()
    head = (
        f"POST /act/{SLUG}/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
        f"Cookie: csrftoken={cookie}\r\nAccept-Language: en\r\n\r\n"
    )
    return head.encode() + body


async def _load(
    port: int, *, signatures: int, connections: int, time_limit: float
) -> tuple[int, dict[str, int], float]:
    page = await _exchange(port, _get(port))
    cookie = re.search(rb"csrftoken=([^;]+);", page)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if not (cookie and token):
        raise RuntimeError("no CSRF cookie or token on the action page")
    requests = [_post(port, cookie.group(1).decode(), token.group(1).decode(), n) for n in range(signatures)]
    statuses: dict[str, int] = {}
    next_index = 0
    started = time.perf_counter()
    stop_at = started + time_limit

    async def client() -> None:
        nonlocal next_index
        while next_index < len(requests) and time.perf_counter() < stop_at:
            request = requests[next_index]
            next_index += 1
            answer = await _exchange(port, request)
            status = answer[9:12].decode() or "none"
            statuses[status] = statuses.get(status, 0) + 1

    await asyncio.gather(*(client() for _ in range(connections)))
    return next_index, statuses, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--signatures", type=int, default=6000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--kind", choices=["petition", "letter"], default="petition")
    parser.add_argument("--time-limit", type=float, default=120.0, help="stop sending after this many seconds")
    options = parser.parse_args()

    production = {
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "SECURE_SSL_REDIRECT": "0",
        "CSRF_COOKIE_SECURE": "0",
        "SESSION_COOKIE_SECURE": "0",
        "TOCSIN_SIGNUP_RATE_LIMIT": "0",
        "WEBHOOK_SECRET": "bench:" + secrets.token_urlsafe(16),
        "LOG_LEVEL": "WARNING",
    }
    env = prepare_environment(name="action_bench", extra=production)
    _seed(options.kind)
    from django.core.management import call_command
    from django.db import connections

    # DEBUG off: pages name their static files through the manifest, as in production.
    call_command("collectstatic", interactive=False, verbosity=0)

    connections.close_all()
    port = _free_port()
    web = _start_web(env, port, options.web_workers)
    try:
        asyncio.run(_wait_until_up(port, time.monotonic() + 60))
        cpu_before = _cpu_seconds(web.pid)
        sent, statuses, elapsed = asyncio.run(
            _load(port, signatures=options.signatures, connections=options.connections, time_limit=options.time_limit)
        )
        web_cpu = _cpu_seconds(web.pid) - cpu_before
    finally:
        _stop(web)
    from actions.models import Letter, Signature

    stored = Signature.objects.filter(action__slug=SLUG).count()
    signed = statuses.get("303", 0)
    rate = signed / elapsed if elapsed else 0.0
    print(
        f"  {options.kind} page behind gunicorn ({options.web_workers} workers, {options.connections} connections, "
        f"{os.cpu_count()} cores): {sent} POSTs in {elapsed:.1f} s, answers {dict(sorted(statuses.items()))}"
    )
    print(f"  signatures stored: {stored}; letters written: {Letter.objects.count()}")
    if signed:
        # Under a shared, loaded machine the wall-clock rate says little; CPU per signature says what
        # the web processes cost (Postgres and Redis come on top).
        print(f"  gunicorn CPU: {1000 * web_cpu / signed:.1f} ms per signature; load average {os.getloadavg()[0]:.1f}")
    print(f"  => {rate:.0f} signatures/s (target >= {TARGET:.0f}/s){'' if rate >= TARGET else '  BELOW TARGET'}")
    if stored != signed:
        print("  ERROR: the database does not hold one signature per 303")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
