"""End-to-end sending benchmark: snapshot → render → MIME → SMTP, through real Celery workers.

    python bench/send_bench.py [--subscribers 20000] [--concurrency 2] [--naive 2000]

Creates N subscribers and a ~10 KB five-article bulletin in a throwaway
database, starts one Celery worker with two pool processes, sends, and prints
emails/second end to end (from "send" to the last delivery recorded), the
snapshot time, seconds per message in each stage (summed over workers), and
the peak RSS of each worker process. The sink is Postfix's ``smtp-sink`` when
installed (PATH, /usr/sbin or var/bench/), else it is unpacked from Debian's postfix
package into var/bench/ (``apt-get download``, nothing installed), else
bench/smtp_sink.py (asyncio);
its own ceiling — prebuilt bytes over one connection — is printed beside
Tocsin's rate. The naive approach (one ``send_mail`` per subscriber, a
template rendered each time) runs on a sample in the same run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import smtplib
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


UNPACKED_SINK = common.VAR / "postfix" / "usr/sbin/smtp-sink"


def unpack_smtp_sink() -> Path | None:
    """Unpack Postfix's smtp-sink from Debian's package into var/bench/postfix, installing nothing."""
    if UNPACKED_SINK.exists():
        return UNPACKED_SINK
    if not (shutil.which("apt-get") and shutil.which("dpkg")):
        return None
    download = common.VAR / "postfix-deb"
    download.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(["apt-get", "download", "postfix"], cwd=download, check=True, capture_output=True, timeout=120)
        debs = sorted(download.glob("postfix_*.deb"))
        subprocess.run(["dpkg", "-x", str(debs[-1]), str(UNPACKED_SINK.parents[2])], check=True, timeout=120)
    except (subprocess.SubprocessError, OSError, IndexError) as error:
        print(f"  could not unpack smtp-sink from Debian's postfix package: {error}")
        return None
    finally:
        shutil.rmtree(download, ignore_errors=True)
    return UNPACKED_SINK if UNPACKED_SINK.exists() else None


def find_smtp_sink() -> Path | None:
    # Debian's postfix package puts it in /usr/sbin, which a non-root PATH often lacks.
    found = shutil.which("smtp-sink")
    if found:
        return Path(found)
    if Path("/usr/sbin/smtp-sink").exists():
        return Path("/usr/sbin/smtp-sink")
    return unpack_smtp_sink()


def start_sink() -> tuple[subprocess.Popen[bytes], int, str]:
    port = free_port()
    postfix = find_smtp_sink()
    if postfix:
        env = dict(os.environ)
        if postfix == UNPACKED_SINK:  # its shared libraries came out of the same package
            env["LD_LIBRARY_PATH"] = str(UNPACKED_SINK.parents[1] / "lib/postfix")
        # No -c: its running counter would flood the terminal, one line per message.
        process = subprocess.Popen(
            [str(postfix), "-u", "nobody", f"127.0.0.1:{port}", "1000"], stdout=subprocess.DEVNULL, env=env
        )
        name = f"Postfix smtp-sink ({postfix})"
    else:
        print("  WARNING: Postfix's smtp-sink not found; using bench/smtp_sink.py (asyncio) as the sink")
        process = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("smtp_sink.py")), str(port)], stdout=subprocess.PIPE
        )
        assert process.stdout is not None
        process.stdout.readline()  # "ready"
        name = "asyncio sink"
    for _ in range(50):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    return process, port, name


def sink_ceiling(port: int, message: bytes, seconds: float = 2.0) -> float:
    """Prebuilt bytes over one reused connection: the most the sink (and smtplib) can take."""
    server = smtplib.SMTP("127.0.0.1", port)
    sent = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        server.sendmail("bench@example.org", ["reader@example.org"], message)
        sent += 1
    elapsed = time.perf_counter() - started
    server.quit()
    return sent / elapsed


def per_message_costs(campaign, sample: int = 300) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Render and MIME-serialisation cost per message, measured in this process."""
    from campaigns.sending.rendering import CampaignRenderer
    from subscribers.models import Subscriber

    renderer = CampaignRenderer(campaign)
    people = list(Subscriber.objects.order_by("id")[:sample])
    renderer.render(subscriber=people[0])  # compile outside the timing, as the worker cache does
    started = time.perf_counter()
    messages = [renderer.render(subscriber=p, delivery_id=p.pk) for p in people]
    render = (time.perf_counter() - started) / len(people)
    started = time.perf_counter()
    payloads = [m.message().as_bytes(linesep="\r\n") for m in messages]
    mime = (time.perf_counter() - started) / len(people)
    return {"render": render, "mime": mime, "size": sum(map(len, payloads)) / len(payloads), "sample": payloads[0]}


def naive(port: int, count: int) -> float:
    """What a plain Django loop does: render a template and send_mail per subscriber."""
    from django.conf import settings
    from django.core.mail import send_mail
    from django.template import Context, Template

    from subscribers.models import Subscriber

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    template = Template(
        "<html><body><h1>{{ subject }}</h1>{% for a in articles %}<h2>{{ a.title }}</h2>{{ a.body_html|safe }}"
        "{% endfor %}<p>Hello {{ person.name|default:'friend' }}</p></body></html>"
    )
    from campaigns.models import Article

    articles = list(Article.objects.all())
    people = list(Subscriber.objects.order_by("id")[:count])
    started = time.perf_counter()
    for person in people:
        html = template.render(Context({"subject": "Bulletin", "articles": articles, "person": person}))
        send_mail("Bulletin", "Plain text version", "bench@example.org", [person.email], html_message=html)
    return len(people) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=20_000)
    # The same default as `make run` (scripts/run.py): two pool processes per core.
    parser.add_argument("--concurrency", type=int, default=2 * (os.cpu_count() or 1), help="worker pool processes")
    parser.add_argument("--naive", type=int, default=2000, help="messages for the naive loop (0: skip)")
    args = parser.parse_args()

    print(f"send_bench: {args.subscribers:,} subscribers, SMTP, {args.concurrency} worker processes")
    sink, port, sink_name = start_sink()
    print(f"  sink: {sink_name}", flush=True)
    try:
        env = common.prepare_environment(name="send_bench", extra={"EMAIL_URL": f"smtp://127.0.0.1:{port}"})
        campaign = common.seed(args.subscribers)
        costs = per_message_costs(campaign)
        ceiling = sink_ceiling(port, costs["sample"])
        worker = common.Worker(env, concurrency=args.concurrency)
        workers = {worker.process.pid, *common._children(worker.process.pid)}
        meter = common.CpuMeter(
            {
                "workers": lambda pid, comm, cmd: pid in workers,
                "postgres": lambda pid, comm, cmd: comm.startswith("postgres"),
                "sink": lambda pid, comm, cmd: pid == sink.pid,
                "redis": lambda pid, comm, cmd: comm.startswith("redis"),
                "this script": lambda pid, comm, cmd: pid == os.getpid(),
            }
        )
        try:
            with meter:
                result = common.run_send(campaign)
            rss = worker.peak_rss_mb()
        finally:
            worker.stop()
        stats = common.stage_stats(campaign.pk)
        naive_rate = naive(port, args.naive) if args.naive else 0.0
    finally:
        sink.terminate()
        sink.wait()

    rate = result["sent"] / result["elapsed"]
    print(f"  database: {env['DATABASE_URL'].split('@')[-1]}   sink: {sink_name}")
    print(f"  message size ≈ {costs['size'] / 1024:.1f} KB")
    print(f"  snapshot + batches: {result['snapshot']:.2f} s for {result['recipients']:,} recipients")
    print(
        f"  END TO END: {result['sent']:,} sent in {result['elapsed']:.2f} s = {rate:,.0f} emails/s "
        f"(failed {result['failed']}, unknown {result['unknown']})"
    )
    print(f"  sink ceiling (prebuilt bytes, one connection): {ceiling:,.0f} /s   ratio {rate / ceiling:.2f}")
    if naive_rate:
        print(f"  naive send_mail loop (1 process, {args.naive:,} msgs): {naive_rate:,.0f} emails/s")
    print(f"  in-process per message: render {costs['render'] * 1000:.2f} ms, MIME {costs['mime'] * 1000:.2f} ms")
    if stats.get("messages"):
        n = stats["messages"]
        print(
            "  worker per message: "
            + ", ".join(f"{k} {stats[k] / n * 1000:.2f} ms" for k in ("render", "send", "db") if k in stats)
            + "  (send = MIME + SMTP)"
        )
    cpu = meter.seconds()
    if cpu["whole machine"]:
        print(
            f"  CPU per message over {os.cpu_count()} cores (ms): "
            + ", ".join(f"{name} {seconds / result['sent'] * 1000:.2f}" for name, seconds in cpu.items())
        )
    print("  worker peak RSS: " + ", ".join(f"{k} {v:.0f} MB" for k, v in rss.items()))


if __name__ == "__main__":
    main()
