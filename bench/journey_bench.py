"""Journey benchmark: 100,000 people enter one journey at once; time until every first email is sent.

    python bench/journey_bench.py [--people 100000] [--concurrency 4]

Seeds N confirmed subscribers in a throwaway database (bench/common.py),
makes a welcome journey (email, wait a week, email) and enters everyone at
the same instant, as a trigger firing for a whole import would. One real
Celery worker runs the due batches (journeys/engine.py: claim a batch with
SKIP LOCKED, write the ledger, move the places on) and sends over SMTP to
the same sink as send_bench.py; this script plays beat (run_journeys every
TOCSIN_JOURNEY_SECONDS, the sending sweeper every TOCSIN_SEND_SWEEP_SECONDS).

Prints: the time until every person's first step has run (their email is in
the ledger: the "within a minute of its time" figure), the time until every
first email is sent, and the peak RSS of each worker process.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
from send_bench import start_sink


def make_journey() -> tuple[object, object]:
    from journeys.models import Journey, Step
    from journeys.services.setup import EmailContent, StepSpec, create_journey
    from subscribers.models import MailingList

    news = MailingList.objects.get(slug="news")
    journey = create_journey(
        name="Welcome (bench)",
        trigger=Journey.Trigger.JOINED_LIST,
        trigger_list=news,
        steps=[
            StepSpec(
                kind=Step.Kind.EMAIL,
                email=EmailContent(
                    subject="Welcome, {{ first_name|default:'friend' }}",
                    body_markdown="Thank you for joining us. " * 20,
                ),
            ),
            StepSpec(kind=Step.Kind.WAIT, wait_amount=7, wait_unit=Step.Unit.DAYS),
            StepSpec(kind=Step.Kind.EMAIL, email=EmailContent(subject="A week later", body_markdown="More news.")),
        ],
    )
    first = journey.steps.order_by("position").first()
    return journey, first


def enter_everyone(journey: object, first_step: object) -> tuple[int, float]:
    """Everyone on the list enters at this instant (one INSERT … SELECT, as a bulk trigger would)."""
    from django.db import connection
    from django.utils import timezone

    from journeys.models import Enrolment
    from subscribers.models import Subscriber

    now = timezone.now()
    started = time.perf_counter()
    sql = (
        f"INSERT INTO {Enrolment._meta.db_table} (journey_id, subscriber_id, step_id, state, due_at, entered_at,"  # noqa: S608
        " finished_at, exit_reason)"
        f" SELECT %s, id, %s, 'active', %s, %s, NULL, '' FROM {Subscriber._meta.db_table}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [journey.pk, first_step.pk, now, now])  # type: ignore[attr-defined]
        count = cursor.rowcount
    return count, time.perf_counter() - started


def play_beat(first_step: object, people: int, *, timeout: float = 3600) -> dict[str, float]:
    from django.conf import settings

    from campaigns.models import Delivery
    from campaigns.tasks import sweep_sending
    from journeys.models import Enrolment
    from journeys.tasks import run_journeys

    campaign_id = first_step.campaign_id  # type: ignore[attr-defined]
    started = time.monotonic()
    next_journeys = next_sweep = started
    ledger_done = 0.0
    last_report = started
    while True:
        now = time.monotonic()
        if now > started + timeout:
            raise RuntimeError("the journey did not finish in time")
        if now >= next_journeys:
            run_journeys.delay()
            next_journeys = now + settings.TOCSIN_JOURNEY_SECONDS
        if now >= next_sweep:
            sweep_sending.delay()
            next_sweep = now + settings.TOCSIN_SEND_SWEEP_SECONDS
        if not ledger_done and not Enrolment.objects.filter(step=first_step).exists():  # type: ignore[misc]
            ledger_done = now - started
        sent = Delivery.objects.filter(campaign_id=campaign_id, status=Delivery.Status.SENT).count()
        if now - last_report > 5:
            print(f"    … {sent:,}/{people:,} first emails sent", flush=True)
            last_report = now
        if sent >= people:
            return {"ledger": ledger_done or now - started, "sent": now - started}
        time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=2 * (os.cpu_count() or 1), help="worker pool processes")
    args = parser.parse_args()

    print(f"journey_bench: {args.people:,} people enter one journey at once, SMTP, {args.concurrency} worker processes")
    sink, port, sink_name = start_sink()
    print(f"  sink: {sink_name}", flush=True)
    try:
        env = common.prepare_environment(
            name="journey_bench", extra={"EMAIL_URL": f"smtp://127.0.0.1:{port}", "TOCSIN_SEND_STATS": "0"}
        )
        common.seed(args.people)
        journey, first_step = make_journey()
        worker = common.Worker(env, concurrency=args.concurrency)
        try:
            entered, insert_seconds = enter_everyone(journey, first_step)
            result = play_beat(first_step, entered)
            rss = worker.peak_rss_mb()
        finally:
            worker.stop()
    finally:
        sink.terminate()
        sink.wait()

    from django.conf import settings

    print(f"  database: {env['DATABASE_URL'].split('@')[-1]}   sink: {sink_name}")
    print(f"  {entered:,} people entered in {insert_seconds:.2f} s (one INSERT … SELECT)")
    print(
        f"  batches of {settings.TOCSIN_JOURNEY_BATCH:,}, beat every {settings.TOCSIN_JOURNEY_SECONDS:.0f} s: "
        f"every first step run (in the ledger) {result['ledger']:.1f} s after it was due"
    )
    print(
        f"  EVERY FIRST EMAIL SENT: {result['sent']:.1f} s after everyone entered "
        f"= {entered / result['sent']:,.0f} emails/s"
    )
    print("  worker peak RSS: " + ", ".join(f"{k} {v:.0f} MB" for k, v in rss.items()))


if __name__ == "__main__":
    main()
