"""The delivery ledger at 50 million rows: a campaign report, the API's counts and an audience snapshot.

Usage: .venv/bin/python bench/ledger_bench.py [--rows 50000000] [--subscribers 1000000] [--reuse]

Target (SPEC): a campaign report under 1 s with 50 million delivery rows in the
table. Builds a throw-away PostgreSQL database (``tocsin_ledger``, or
BENCH_DATABASE_URL; dropped afterwards) with ``--subscribers`` people on one
list and ``rows / subscribers`` campaigns that each reached all of them,
written with ``generate_series`` (indexes built after the load, as a restore
would); the newest campaign also gets a realistic mix of events (delivered,
opens, clicks, bounces, complaints). Then times, each the median of three:

- the newest campaign's report page (every figure, chart, problem list, template);
- an old campaign's report while its rows are still there, and after
  ``rollup_deliveries`` turned them into a ``RolledUpCampaign``;
- the API's counts (``lifecycle.campaign_counts``);
- the audience snapshot of a new campaign to the whole list, writing
  ``--subscribers`` more rows into the big table (once, in a transaction);
- the roll-up itself, for one old campaign; and for the newest (rolled back),
  whose bounces and complaints become its kept problem list, with that step's share.

    BENCH_ONLY=ledger BENCH_ARGS_LEDGER="--rows 2000000 --subscribers 100000" make bench   # a quick run

``--reuse`` keeps the database afterwards and measures the one a previous
``--reuse`` run left (seeding 50 million rows takes most of an hour): tables of
models added since are created, the snapshot is rolled back, and the roll-up
takes the oldest campaign not yet rolled up. Drop it when done:
``dropdb tocsin_ledger`` (or run once without ``--reuse``).
"""

# The SQL here is built from model table names and integers of this file; every value is a parameter.
# ruff: noqa: S608
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("CACHE_URL", "locmem://")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import common

_REUSE = "--reuse" in sys.argv[1:]  # read before Django starts: it decides which database Django opens
_URL, _drop_database, _REUSED = common.throwaway_database("ledger", reuse=_REUSE)
os.environ["DATABASE_URL"] = _URL

import django  # noqa: E402

django.setup()

from django.apps import apps  # noqa: E402
from django.db import connection, transaction  # noqa: E402

TARGET_SECONDS = 1.0
SEEDED = "bench_ledger_seeded"  # written last by build(): what --reuse finds


def _execute(sql: str, params: list[Any] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])


def _drop_ledger_indexes(table: str) -> list[str]:
    """Drop the ledger's secondary indexes and unique constraint; the statements that make them again."""
    again: list[str] = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = %s::regclass AND contype = 'u'",
            [table],
        )
        for name, definition in cursor.fetchall():
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            again.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        cursor.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = %s"
            " AND i.indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
            [table, table],
        )
        for name, definition in cursor.fetchall():
            cursor.execute(f'DROP INDEX "{name}"')
            again.append(definition)
    return again


def _fixed_columns(model: Any, explicit: set[str]) -> tuple[str, str, list[Any]]:
    """The columns the seed does not set itself, with their model defaults (so a new field still works)."""
    from django.utils import timezone

    columns, values = [], []
    for field in model._meta.concrete_fields:
        if field.primary_key or field.column in explicit:
            continue
        columns.append(connection.ops.quote_name(field.column))
        value = timezone.now() if getattr(field, "auto_now", False) else field.get_default()
        values.append(field.get_db_prep_save(value, connection))
    return "".join(", " + c for c in columns), ", %s" * len(values), values


def seed_people(subscribers: int) -> Any:
    from subscribers.models import MailingList, Subscriber, Subscription

    news = MailingList.objects.create(slug="news", name="Bulletin")
    explicit = {"email", "email_hash", "name", "language", "status", "tracking_allowed", "created_at", "confirmed_at"}
    columns, marks, values = _fixed_columns(Subscriber, explicit)
    _execute(
        f"INSERT INTO subscribers_subscriber (id, {', '.join(sorted(explicit))}{columns})"
        " SELECT n, now() - interval '2 years', now() - interval '2 years', 'reader' || n || '@bench.example.org',"
        " encode(sha256(convert_to('tocsin:reader' || n || '@bench.example.org', 'UTF8')), 'hex'),"
        f" 'en', 'Reader ' || n, 'confirmed', mod(n, 50) <> 0{marks} FROM generate_series(1, %s) AS n",
        [*values, subscribers],
    )
    _execute("SELECT setval(pg_get_serial_sequence('subscribers_subscriber', 'id'), %s)", [subscribers])
    columns, marks, values = _fixed_columns(Subscription, {"subscriber_id", "mailing_list_id"})
    _execute(
        f"INSERT INTO subscribers_subscription (subscriber_id, mailing_list_id{columns})"
        f" SELECT n, %s{marks} FROM generate_series(1, %s) AS n",
        [news.pk, *values, subscribers],
    )
    return news


def seed_ledger(rows: int, subscribers: int, news: Any) -> tuple[int, int]:
    """``rows // subscribers`` campaigns to the whole list; the (oldest, newest) campaign ids."""
    from campaigns.models import Campaign, Delivery

    campaigns = max(rows // subscribers, 2)
    table = Delivery._meta.db_table
    indexes = _drop_ledger_indexes(table)
    ids = []
    started = time.perf_counter()
    for number in range(campaigns):
        weeks = campaigns - number  # twice a week, the oldest first
        campaign = Campaign.objects.create(subject=f"Bulletin {number + 1}", status=Campaign.Status.SENT)
        campaign.lists.set([news])
        _execute(
            "UPDATE campaigns_campaign SET started_at = now() - %s * interval '3 days',"
            " finished_at = now() - %s * interval '3 days' + interval '2 hours' WHERE id = %s",
            [weeks, weeks, campaign.pk],
        )
        _execute(
            f"INSERT INTO {table} (id, campaign_id, subscriber_id, status, language, attempts, esp_message_id,"
            " error, sent_at)"
            " SELECT %s + n, %s, n, CASE WHEN mod(n, 500) = 0 THEN 'failed' WHEN mod(n, 997) = 0 THEN 'unknown'"
            " ELSE 'sent' END, 'en', 1, '<tocsin.' || %s || '.' || (%s + n) || '@tocsin.example.org>',"
            " CASE WHEN mod(n, 500) = 0 THEN '550 relay refused' ELSE '' END,"
            " now() - %s * interval '3 days' + mod(n, 60) * interval '1 minute'"
            " FROM generate_series(1, %s) AS n",
            [number * subscribers, campaign.pk, campaign.pk, number * subscribers, weeks, subscribers],
        )
        ids.append(campaign.pk)
        if (number + 1) % 10 == 0:
            print(f"  {(number + 1) * subscribers:,} rows in {time.perf_counter() - started:.0f} s", flush=True)
    _execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), %s)", [campaigns * subscribers])
    with common.timer("indexes and constraints built"):
        _execute("SET maintenance_work_mem = '512MB'")
        for statement in indexes:
            _execute(statement)
    return ids[0], ids[-1]


def seed_events(campaign_id: int, subscribers: int) -> None:
    """The newest campaign's events, as report_bench.py writes them; then its summary rows."""
    first = _first_delivery(campaign_id)

    def events(kind: str, where: str, minutes: str, url: str = "''", reason: str = "''") -> None:
        _execute(
            "INSERT INTO campaigns_deliveryevent (delivery_id, campaign_id, kind, event_id, recipient_hash,"
            " esp_message_id, reason, url, occurred_at, payload)"
            f" SELECT %s + n - 1, %s, '{kind}', '{kind}-' || n, '', 'm-' || n, {reason}, {url},"
            f" now() - interval '3 days' + ({minutes}) * interval '1 minute', '{{}}'"
            f" FROM generate_series(1, %s) AS n WHERE {where}",
            [first, campaign_id, subscribers],
        )

    events("delivered", "mod(n, 20) <> 0", "mod(n, 30)")
    events("opened", "mod(n, 3) = 0", "mod(n * 7, 4320)")
    events("clicked", "mod(n, 12) = 0", "mod(n * 11, 4320)", url="'https://example.org/story-' || mod(n, 4)")
    events("bounced", "mod(n, 100) = 7", "mod(n, 60)", reason="'550 5.1.1 user unknown'")
    events("soft_bounced", "mod(n, 250) = 11", "mod(n, 60)", reason="'452 mailbox full'")
    events("complained", "mod(n, 1500) = 3", "mod(n * 13, 4320)")
    from campaigns.events.stats import rebuild_campaign_stats

    rebuild_campaign_stats(campaign_id)


def _first_delivery(campaign_id: int) -> int:
    from campaigns.models import Delivery

    return Delivery.objects.filter(campaign_id=campaign_id).order_by("subscriber_id").values_list("pk", flat=True)[0]


def _tabled_models() -> list[Any]:
    """The models with a table of their own (not proxies such as journeys' hidden campaigns)."""
    return [model for model in apps.get_models() if model._meta.managed and not model._meta.proxy]


def build(rows: int, subscribers: int) -> tuple[int, int]:
    with connection.schema_editor() as editor:  # tables straight from the models, as report_bench.py
        for model in _tabled_models():
            editor.create_model(model)
    _execute("SET synchronous_commit = off")
    with common.timer(f"seeded {subscribers:,} subscribers on one list"):
        news = seed_people(subscribers)
    with common.timer(f"seeded {rows:,} delivery rows"):
        oldest, newest = seed_ledger(rows, subscribers, news)
    with common.timer("seeded the newest campaign's events"):
        seed_events(newest, subscribers)
    count_the_ledger()
    with common.timer("VACUUM ANALYZE (what autovacuum does in production)"):
        _execute("VACUUM ANALYZE")
    _execute(f"CREATE TABLE {SEEDED} (rows bigint, subscribers bigint, newest integer)")
    _execute(f"INSERT INTO {SEEDED} VALUES (%s, %s, %s)", [rows, subscribers, newest])
    return oldest, newest


def count_the_ledger() -> None:
    """The ledger's counters: triggers and a backfill, as migration campaigns 0011 makes them."""
    from campaigns import counters

    with common.timer("counted the ledger per campaign and status (the migration's backfill)"):
        counters.rebuild()


def reused(rows: int, subscribers: int) -> tuple[int, int]:
    """The (oldest not yet rolled up, newest) campaigns of the database a previous ``--reuse`` run seeded."""
    from campaigns.models import Campaign, DeliveryCount

    tables = connection.introspection.table_names()
    if SEEDED not in tables:
        raise SystemExit("tocsin_ledger is there but was not seeded to the end: dropdb tocsin_ledger, run again")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT rows, subscribers, newest FROM {SEEDED}")
        seeded_rows, seeded_subscribers, newest = cursor.fetchone()
    if (seeded_rows, seeded_subscribers) != (rows, subscribers):
        raise SystemExit(f"tocsin_ledger holds {seeded_rows:,} rows for {seeded_subscribers:,}: dropdb it first")
    added = [model for model in _tabled_models() if model._meta.db_table not in tables]
    with connection.schema_editor() as editor:  # models added since the seed
        for model in added:
            editor.create_model(model)
    if DeliveryCount in added:
        count_the_ledger()
        _execute("VACUUM ANALYZE campaigns_deliverycount")
    oldest = (
        Campaign.objects.filter(subject__startswith="Bulletin ", rollup__isnull=True)
        .exclude(pk=newest)
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    if oldest is None:
        raise SystemExit("every old campaign of tocsin_ledger is rolled up: dropdb it and seed again")
    print(f"  reusing tocsin_ledger ({rows:,} rows seeded earlier)")
    return oldest, newest


def median_of_three(action: Callable[[], Any]) -> float:
    action()  # warm caches, as a staff member reloading the page would
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def report_page(campaign_id: int) -> Callable[[], None]:
    from django.contrib.auth.models import User
    from django.test import RequestFactory

    from campaigns.views.reports import report

    user = User.objects.filter(username="bench").first() or User.objects.create_superuser(
        "bench", "bench@example.org", "bench-password-long"
    )

    def load() -> None:
        request = RequestFactory().get(f"/admin/campaigns/campaign/{campaign_id}/report/")
        request.user = user
        response = report(request, campaign_id)
        response.render()
        assert response.status_code == 200 and b"<svg" in response.content

    return load


def _table_size() -> tuple[int, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint, pg_size_pretty(pg_total_relation_size('campaigns_delivery'))"
            " FROM pg_class WHERE relname = 'campaigns_delivery'"
        )
        return cursor.fetchone()


def measure(oldest: int, newest: int, news_list_size: int) -> float:
    from campaigns import lifecycle
    from campaigns.models import Campaign
    from campaigns.reports.figures import campaign_report
    from campaigns.rollup.rolling import roll_up
    from campaigns.sending.audience import snapshot
    from subscribers.models import MailingList

    rows, size = _table_size()
    print(f"  the ledger: ~{rows:,} rows, {size} with its indexes")
    newest_report = median_of_three(report_page(newest))
    print(
        f"  LIVE REPORT (the newest campaign's report page, its {news_list_size:,} rows in the ledger, with events):"
        f" {newest_report:.3f} s (target < {TARGET_SECONDS:.0f} s)"
    )
    counts = median_of_three(lambda: lifecycle.campaign_counts(Campaign.objects.get(pk=newest)))
    print(f"  API counts, newest campaign: {counts:.3f} s")
    before = campaign_report(Campaign.objects.get(pk=oldest))
    old_report = median_of_three(report_page(oldest))
    print(f"  report page, oldest campaign, rows still there: {old_report:.3f} s")
    started = time.perf_counter()
    deleted = roll_up(oldest)
    print(f"  roll-up of the oldest campaign: {deleted:,} rows in {time.perf_counter() - started:.1f} s")
    after = campaign_report(Campaign.objects.get(pk=oldest))
    assert (before.statuses, before.unique, before.top_links) == (after.statuses, after.unique, after.top_links)
    rolled = median_of_three(report_page(oldest))
    print(f"  report page, oldest campaign, rolled up: {rolled:.3f} s (same figures)")
    with transaction.atomic():  # as control.prepare runs it
        campaign = Campaign.objects.create(subject="Next bulletin", body_markdown="Hello")
        campaign.lists.set([MailingList.objects.get(slug="news")])
        started = time.perf_counter()
        added = snapshot(campaign)
        elapsed = time.perf_counter() - started
        if _REUSE:
            transaction.set_rollback(True)  # the next run measures the same table
    print(f"  audience snapshot into the big table: {added:,} deliveries in {elapsed:.2f} s")
    roll_up_with_problems(newest)
    return max(newest_report, old_report, rolled)


def roll_up_with_problems(campaign_id: int) -> None:
    """The newest campaign's roll-up (its events make a problem list), rolled back; the problem lines' share."""
    from campaigns.models import Campaign, RolledUpProblem
    from campaigns.reports.problems import problem_deliveries
    from campaigns.rollup import rolling

    live = problem_deliveries(Campaign.objects.get(pk=campaign_id)).count()
    keep, spent = rolling._keep_problems, [0.0]

    def timed(campaign: int, ids: list[int]) -> None:
        started = time.perf_counter()
        keep(campaign, ids)
        spent[0] += time.perf_counter() - started

    rolling._keep_problems = timed  # type: ignore[assignment]
    try:
        with transaction.atomic():
            started = time.perf_counter()
            deleted = rolling.roll_up(campaign_id)
            elapsed = time.perf_counter() - started
            kept = RolledUpProblem.objects.filter(campaign_id=campaign_id).count()
            transaction.set_rollback(True)  # the newest campaign stays live for the next run
    finally:
        rolling._keep_problems = keep  # type: ignore[assignment]
    assert kept == live, (kept, live)
    print(
        f"  roll-up of the newest campaign (rolled back): {deleted:,} rows in {elapsed:.1f} s,"
        f" of which {spent[0]:.2f} s copying its {kept:,} problem lines"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000_000)
    parser.add_argument("--subscribers", type=int, default=1_000_000)
    parser.add_argument("--reuse", action="store_true", help="keep the seeded database, and use it when there")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("the ledger benchmark needs PostgreSQL (BENCH_DATABASE_URL)")
    print(f"ledger bench: {args.rows:,} delivery rows, {args.subscribers:,} subscribers, PostgreSQL")
    if _REUSED:
        oldest, newest = reused(args.rows, args.subscribers)
    else:
        oldest, newest = build(args.rows, args.subscribers)
    worst = measure(oldest, newest, args.subscribers)
    verdict = "OK" if worst < TARGET_SECONDS else "OVER TARGET"
    print(f"  slowest report page: {worst:.3f} s (target < {TARGET_SECONDS:.0f} s): {verdict}")


if __name__ == "__main__":
    try:
        main()
    finally:
        connection.close()
        if not _REUSE:
            _drop_database()
