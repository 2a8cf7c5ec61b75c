"""Sending through an HTTP provider: Anymail's Postmark backend against a local stub with 100 ms latency.

    python bench/esp_bench.py [--subscribers 10000] [--per-call 100] [--threads 25] [--latency 0.1]

Every call waits ``--latency`` seconds, like a real provider. Tocsin hides it
by putting ``--per-call`` fully rendered messages in each call to Postmark's
``/email/batch`` (campaigns/sending/transports/postmark.py), with one sender thread per call of
a Celery batch in each of the worker's pool processes. ``--per-call 1`` sends
one message per call through Anymail's backend instead, with ``--threads``
concurrent senders per batch. Prints recipients/second end to end.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
from send_bench import free_port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=25, help="sender threads per batch (per pool process)")
    parser.add_argument("--concurrency", type=int, default=2, help="worker pool processes")
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--per-call", type=int, default=100, help="messages per /email/batch call (1: no batching)")
    parser.add_argument("--batch-size", type=int, default=0, help="recipients per Celery batch (default: 4 calls)")
    args = parser.parse_args()

    if args.per_call > 1:
        batch_size = args.batch_size or args.per_call * 4
        threads = min(args.threads, -(-batch_size // args.per_call))
    else:
        # Batches big enough to keep every thread busy between two batches.
        batch_size = args.batch_size or max(200, args.threads * 8)
        threads = args.threads
    in_flight = threads * args.concurrency
    print(
        f"esp_bench: {args.subscribers:,} subscribers, Postmark API stub with {args.latency * 1000:.0f} ms latency, "
        f"{args.per_call} message(s) per call, batches of {batch_size}, "
        f"{args.concurrency} processes x {threads} threads = {in_flight} calls in flight"
    )
    port = free_port()
    stub = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("postmark_stub.py")), str(port), str(args.latency)],
        stdout=subprocess.PIPE,
    )
    assert stub.stdout is not None
    stub.stdout.readline()  # "ready"
    try:
        extra = {
            "ESP": "postmark",
            "ANYMAIL_POSTMARK_SERVER_TOKEN": "bench-token",
            "ANYMAIL_POSTMARK_API_URL": f"http://127.0.0.1:{port}/",
            "TOCSIN_SEND_THREADS": str(threads),
            "TOCSIN_SEND_ESP_BATCH": str(args.per_call),
            "TOCSIN_SEND_RATE": "0",
            "TOCSIN_SEND_BATCH_SIZE": str(batch_size),
        }
        env = common.prepare_environment(name="esp_bench", extra=extra)
        campaign = common.seed(args.subscribers)
        worker = common.Worker(env, concurrency=args.concurrency)
        try:
            started = time.perf_counter()
            result = common.run_send(campaign)
            rss = worker.peak_rss_mb()
        finally:
            worker.stop()
        del started
    finally:
        stub.terminate()
        received = stub.stdout.read().decode().strip()
        stub.wait()
    rate = result["sent"] / result["elapsed"]
    ideal = in_flight * args.per_call / args.latency
    print(
        f"  END TO END: {result['sent']:,} sent in {result['elapsed']:.2f} s = {rate:,.0f} recipients/s "
        f"(failed {result['failed']}, unknown {result['unknown']}; latency-bound ceiling {ideal:,.0f}/s)"
    )
    print(f"  provider stub: {received} messages")
    stats = common.stage_stats(campaign.pk)
    if stats.get("messages"):
        n = stats["messages"]
        print(
            "  per message (summed over threads): "
            + ", ".join(f"{k} {stats[k] / n * 1000:.2f} ms" for k in ("render", "send", "db") if k in stats)
            + (f"; {n / stats['calls']:.0f} messages per provider call" if stats.get("calls") else "")
        )
    print("  worker peak RSS: " + ", ".join(f"{k} {v:.0f} MB" for k, v in rss.items()))


if __name__ == "__main__":
    main()
