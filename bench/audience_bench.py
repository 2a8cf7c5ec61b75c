"""Audience count at scale: ``count_audience`` over 1,000,000 subscribers (target: under 1 s on Postgres).

Seeds the people in SQL (``generate_series``; seconds, not the minutes the
ORM would take) with a realistic mix: 90 % confirmed and the rest pending,
unsubscribed or bounced; 95 % on the bulletin list, a third also on the alerts
list, 2 % of subscriptions ended; 1 % of the addresses suppressed, plus
suppressions of addresses that are not on file. Then times the count for a
one-list campaign, a two-list campaign and a two-list, one-language campaign
(the first call of each apart: it may ANALYZE freshly loaded tables).
``--explain`` prints the plan; ``--snapshot`` also times writing the ledger.

``--cap 2/7d`` turns the frequency cap on (``TOCSIN_FREQUENCY_CAP``) and first
writes a ledger history to count against it: four earlier campaigns sent to
everyone confirmed 2 days ago, to half of them 4 days ago, to a third 6 days
ago, and to everyone 10 days ago (outside a 7-day window), about 2.5 million
sent deliveries for 1M subscribers, then fills what the cap reads
(``RecentSends``) from it as migration 0012 does (timed). It prints how many
the cap holds back.

    flock /tmp/tocsin-bench.lock .venv/bin/python bench/audience_bench.py --subscribers 1000000
    flock /tmp/tocsin-bench.lock .venv/bin/python bench/audience_bench.py --snapshot --cap 2/7d
"""

# The SQL here is built from model table names; every value is a parameter.
# ruff: noqa: S608
from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import prepare_environment, timer

TARGET_SECONDS = 1.0


def _fixed_columns(model: Any, explicit: set[str]) -> tuple[list[str], list[Any]]:
    """Columns (with their default values) the seed does not set itself, so a new field with a default still works."""
    from django.db import connection
    from django.utils import timezone

    columns, values = [], []
    for field in model._meta.concrete_fields:
        if field.primary_key or field.column in explicit:
            continue
        columns.append(connection.ops.quote_name(field.column))
        value = timezone.now() if getattr(field, "auto_now", False) else field.get_default()
        values.append(field.get_db_prep_save(value, connection))
    return columns, values


def seed(subscribers: int) -> list[Any]:
    """People, two lists and suppressions; returns the three campaigns to count."""
    from django.db import connection
    from django.utils import timezone

    from campaigns.models import Campaign
    from subscribers.models import MailingList, Subscriber, Subscription, Suppression

    if connection.vendor != "postgresql":
        raise SystemExit("the audience benchmark needs Postgres (set BENCH_DATABASE_URL)")
    news = MailingList.objects.create(slug="news", name="Bulletin")
    alerts = MailingList.objects.create(slug="alerts", name="Urgent actions")
    now = timezone.now()
    has_hash = any(f.name == "email_hash" for f in Subscriber._meta.concrete_fields)
    email_sql = "'reader' || i || '@bench.example.org'"
    explicit = {"email", "name", "language", "status", "created_at", "confirmed_at"}
    select = [
        email_sql,
        "CASE WHEN mod(i, 4) = 0 THEN '' ELSE 'Reader ' || i END",
        "(ARRAY['en','es','fr'])[1 + mod(i, 3)]",
        "CASE WHEN mod(i, 20) < 18 THEN 'confirmed' WHEN mod(i, 20) = 18 THEN 'unsubscribed'"
        " WHEN mod(i, 40) = 19 THEN 'pending' ELSE 'bounced' END",
        "%s - (mod(i, 1000)) * interval '1 hour'",
        "%s",
    ]
    columns = ["email", "name", "language", "status", "created_at", "confirmed_at"]
    if has_hash:
        explicit.add("email_hash")
        columns.append("email_hash")
        select.append(f"encode(sha256(convert_to('tocsin:' || {email_sql}, 'UTF8')), 'hex')")
    fixed, fixed_values = _fixed_columns(Subscriber, explicit)
    subscriber = Subscriber._meta.db_table
    subscription = Subscription._meta.db_table
    suppression = Suppression._meta.db_table
    with timer(f"seeded {subscribers:,} subscribers"), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {subscriber} ({', '.join(columns + fixed)})"
            f" SELECT {', '.join(select + ['%s'] * len(fixed))} FROM generate_series(1, %s) AS i",
            [now, now, *fixed_values, subscribers],
        )
        sub_fixed, sub_values = _fixed_columns(Subscription, {"subscriber_id", "mailing_list_id", "status"})
        for mailing_list, condition in ((news, "mod(s.id, 20) <> 0"), (alerts, "mod(s.id, 3) = 0")):
            cursor.execute(
                f"INSERT INTO {subscription} (subscriber_id, mailing_list_id, status"
                f"{''.join(', ' + c for c in sub_fixed)})"
                f" SELECT s.id, %s, CASE WHEN mod(s.id, 50) = 0 THEN 'unsubscribed' ELSE 'active' END"
                f"{', %s' * len(sub_fixed)} FROM {subscriber} s WHERE {condition}",
                [mailing_list.pk, *sub_values],
            )
        sup_fixed, sup_values = _fixed_columns(Suppression, {"email_hash", "reason"})
        cursor.execute(
            f"INSERT INTO {suppression} (email_hash, reason{''.join(', ' + c for c in sup_fixed)})"
            f" SELECT encode(sha256(convert_to('tocsin:' || e, 'UTF8')), 'hex'), 'bounced'{', %s' * len(sup_fixed)}"
            f" FROM (SELECT 'reader' || i || '@bench.example.org' AS e FROM generate_series(7, %s, 100) AS i"
            f" UNION ALL SELECT 'gone' || i || '@elsewhere.example.net' FROM generate_series(1, 10000) AS i) AS x",
            [*sup_values, subscribers],
        )
        # Freshly loaded tables: VACUUM sets the visibility map (index-only scans) the
        # way autovacuum soon would on a real database.
        for table in (subscriber, subscription, suppression):
            cursor.execute(f"VACUUM ANALYZE {table}")
        # …and is not busy writing a million fresh rows out to disk when a send starts.
        cursor.execute("CHECKPOINT")
    one = Campaign.objects.create(subject="Bulletin", body_markdown="Hello")
    one.lists.set([news])
    two = Campaign.objects.create(subject="Bulletin and alerts", body_markdown="Hello")
    two.lists.set([news, alerts])
    spanish = Campaign.objects.create(subject="Boletín", body_markdown="Hola", language="es", languages=["es"])
    spanish.lists.set([news, alerts])
    return [("one list", one), ("two lists", two), ("two lists, Spanish only", spanish)]


def seed_history() -> None:
    """Earlier campaigns' sent deliveries, for the frequency cap to count (see the module's docstring)."""
    from django.db import connection
    from django.utils import timezone

    from campaigns.models import Campaign, Delivery
    from subscribers.models import Subscriber

    delivery, subscriber = Delivery._meta.db_table, Subscriber._meta.db_table
    explicit = {"campaign_id", "subscriber_id", "status", "sent_at"}
    fixed, fixed_values = _fixed_columns(Delivery, explicit)
    now = timezone.now()
    with timer("seeded the ledger's history"), connection.cursor() as cursor:
        for days, condition in ((2, "true"), (4, "mod(s.id, 2) = 0"), (6, "mod(s.id, 3) = 0"), (10, "true")):
            earlier = Campaign.objects.create(subject=f"{days} days ago", body_markdown="Hello", status="sent")
            cursor.execute(
                f"INSERT INTO {delivery} (campaign_id, subscriber_id, status, sent_at"
                f"{''.join(', ' + c for c in fixed)})"
                f" SELECT %s, s.id, 'sent', %s - (mod(s.id, 600)) * interval '1 second'{', %s' * len(fixed)}"
                f" FROM {subscriber} s WHERE s.status = 'confirmed' AND {condition}",
                [earlier.pk, now - timedelta(days=days), *fixed_values],
            )
        cursor.execute(f"VACUUM ANALYZE {delivery}")
    fill_recent_sends()
    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")


def fill_recent_sends() -> None:
    """What the frequency cap reads (``RecentSends``), filled from that history by the migration that added it."""
    import importlib
    from types import SimpleNamespace

    from django.apps import apps
    from django.db import connection

    from campaigns.models import RecentSends

    migration = importlib.import_module("campaigns.migrations.0012_recent_sends_for_the_frequency_cap")
    with timer("filled RecentSends from the ledger (migration 0012)"):
        migration.fill_from_the_ledger(apps, SimpleNamespace(connection=connection))
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM ANALYZE {RecentSends._meta.db_table}")


def time_noting(campaign: Any) -> None:
    """What a send batch's end adds to the frequency cap's RecentSends (one statement per batch), timed."""
    from django.conf import settings
    from django.utils import timezone

    from campaigns.models import Delivery
    from campaigns.sending import frequency

    size = settings.TOCSIN_SEND_BATCH_SIZE
    ids = list(Delivery.objects.filter(campaign=campaign).order_by("id").values_list("id", flat=True)[: size * 20])
    Delivery.objects.filter(id__in=ids).update(status=Delivery.Status.SENT, sent_at=timezone.now())
    times = []
    for start in range(0, len(ids), size):
        batch = ids[start : start + size]
        started = time.perf_counter()
        frequency.note_batch(campaign.pk, batch[0], batch[-1])
        times.append(time.perf_counter() - started)
    print(
        f"  noting a sent batch of {size} for the cap: median {statistics.median(times) * 1000:.1f} ms"
        f" (max {max(times) * 1000:.1f} ms, {len(times)} batches)"
    )


def explain(campaign: Any) -> None:
    from django.db import connection

    from campaigns.sending import audience

    where, params = audience._audience_where(campaign)
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) SELECT COUNT(*)" + where, params)
        print("\n".join("    " + row[0] for row in cursor.fetchall()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5, help="timed counts per campaign after the first")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of each count")
    parser.add_argument("--snapshot", action="store_true", help="also time the ledger snapshot (two lists)")
    parser.add_argument("--cap", default="", help="frequency cap, e.g. 2/7d, counted against a seeded history")
    args = parser.parse_args()
    prepare_environment(name="audience", extra={"TOCSIN_FREQUENCY_CAP": args.cap} if args.cap else None)

    from campaigns.sending.audience import count_audience, count_capped, snapshot

    campaigns = seed(args.subscribers)
    if args.cap:
        seed_history()
    worst = 0.0
    for label, campaign in campaigns:
        started = time.perf_counter()
        count = count_audience(campaign)
        first = time.perf_counter() - started
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            count_audience(campaign)
            times.append(time.perf_counter() - started)
        median = statistics.median(times) if times else first
        worst = max(worst, median)
        print(
            f"  count_audience, {label}: {count:,} people; first {first:.3f} s, "
            f"median of {len(times)} {median:.3f} s (max {max(times, default=first):.3f} s)"
        )
        if args.explain:
            explain(campaign)
    if args.snapshot:
        label, campaign = campaigns[1]
        from django.db import transaction

        started = time.perf_counter()
        with transaction.atomic():  # as batching.prepare runs it
            added = snapshot(campaign)
        capped = f", {campaign.frequency_capped:,} held back by the cap {args.cap}" if args.cap else ""
        print(f"  snapshot, {label}: {added:,} deliveries in {time.perf_counter() - started:.2f} s{capped}")
    if args.cap:
        label, campaign = campaigns[0]
        started = time.perf_counter()
        held = count_capped(campaign)
        print(f"  count_capped, {label}: {held:,} held back by the cap in {time.perf_counter() - started:.3f} s")
        if args.snapshot:
            time_noting(campaigns[1][1])  # last: the sends it notes change who is capped
    verdict = "OK" if worst < TARGET_SECONDS else "OVER TARGET"
    print(f"  worst median count: {worst:.3f} s (target < {TARGET_SECONDS:.0f} s): {verdict}")


if __name__ == "__main__":
    main()
