"""Letters to targets through the sending engine: time to deliver 10,000 letters to an SMTP sink.

    python bench/letters_bench.py [--letters 10000] [--targets 50] [--concurrency 4]

Writes N signatures of one letter action, one letter each, spread over the
targets, in a throwaway database (bench/common.py), starts one Celery worker,
plays beat once (``sweep_letters`` queues the pending letters, a hundred per
task) and waits for the last letter recorded. Each letter goes the whole
way: claim (committed) → render (text and HTML) → MIME → pipelined SMTP →
record. Prints letters/second end to end and the sink's own ceiling. The
sink is the one bench/send_bench.py uses (Postfix's smtp-sink, or an
asyncio sink).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
import send_bench


def seed(letters: int, targets: int) -> int:
    from actions.models import Action, Letter, Signature, Target

    action = Action.objects.create(
        kind=Action.Kind.LETTER,
        slug="bench-letter",
        title="Binding rules for mining companies abroad",
        status=Action.Status.OPEN,
        letter_subject="Binding human-rights rules for Canadian mining companies abroad",
        letter_body=("As your constituent, I ask you to support binding human-rights rules. " * 8).strip(),
    )
    made = Target.objects.bulk_create(
        Target(name=f"Fictional MP {n}", title="MP", email=f"mp{n}@parl.example") for n in range(targets)
    )
    action.targets.set(made)
    signatures = Signature.objects.bulk_create(
        (
            Signature(
                action=action,
                email=f"supporter{n}@example.org",
                name=f"Supporter Número {n}",
                postal_code="K1A 0B1",
                message="The river is our life; please act now.",
                letter_subject=action.letter_subject,
                letter_body=action.letter_body,
            )
            for n in range(letters)
        ),
        batch_size=2000,
    )
    Letter.objects.bulk_create(
        (Letter(action=action, signature=s, target=made[n % targets]) for n, s in enumerate(signatures)),
        batch_size=2000,
    )
    return action.pk


def deliver(total: int, *, timeout: float = 1800) -> dict[str, float]:
    from django.db.models import Count

    from actions.models import Letter
    from actions.tasks import sweep_letters

    started = time.perf_counter()
    sweep_letters()  # what beat does every TOCSIN_SEND_SWEEP_SECONDS
    deadline = time.monotonic() + timeout
    last_report = time.monotonic()
    unfinished = Letter.objects.filter(status__in=[Letter.Status.PENDING, Letter.Status.SENDING])
    while unfinished.exists():
        if time.monotonic() > deadline:
            raise RuntimeError("the letters did not all go in time")
        if time.monotonic() - last_report > 5:
            print(f"    … {Letter.objects.filter(status=Letter.Status.SENT).count():,}/{total:,} sent", flush=True)
            last_report = time.monotonic()
        time.sleep(0.2)  # the finish time is read to within 0.2 s
    elapsed = time.perf_counter() - started
    counts = dict(Letter.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    return {"elapsed": elapsed, **{str(key): float(value) for key, value in counts.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=int, default=10_000)
    parser.add_argument("--targets", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=2 * (os.cpu_count() or 1), help="worker pool processes")
    args = parser.parse_args()

    print(f"letters_bench: {args.letters:,} letters to {args.targets} targets, SMTP, {args.concurrency} processes")
    sink, port, sink_name = send_bench.start_sink()
    try:
        env = common.prepare_environment(name="letters_bench", extra={"EMAIL_URL": f"smtp://127.0.0.1:{port}"})
        with common.timer("seed"):
            seed(args.letters, args.targets)
        common.settle()
        worker = common.Worker(env, concurrency=args.concurrency)
        try:
            result = deliver(args.letters)
            rss = worker.peak_rss_mb()
        finally:
            worker.stop()
        ceiling = send_bench.sink_ceiling(port, b"Subject: x\r\n\r\n" + b"A letter. " * 300 + b"\r\n")
    finally:
        sink.terminate()
        sink.wait()

    sent = int(result.get("sent", 0))
    rate = sent / result["elapsed"]
    print(f"  database: {env['DATABASE_URL'].split('@')[-1]}   sink: {sink_name}")
    print(
        f"  END TO END: {sent:,} letters sent in {result['elapsed']:.2f} s = {rate:,.0f} letters/s "
        f"(failed {int(result.get('failed', 0))}, unknown {int(result.get('unknown', 0))})"
    )
    print(f"  sink ceiling (prebuilt bytes, one connection): {ceiling:,.0f} /s")
    print("  worker peak RSS: " + ", ".join(f"{k} {v:.0f} MB" for k, v in rss.items()))


if __name__ == "__main__":
    main()
