"""How long does a campaign report page take with a million deliveries?

Usage: .venv/bin/python bench/report_bench.py [DELIVERIES]

Target (SPEC): under 1 s for 1,000,000 deliveries. Builds a throw-away
database (PostgreSQL ``tocsin_reports``, or BENCH_DATABASE_URL, dropped
afterwards; SQLite when no Postgres answers: bench/common.py), fills it with SQL set operations (one
subscriber and one delivery per recipient; delivered for 95 %, opens for a
third, clicks on four links, hard and soft bounces, complaints, failures),
then times the report page as staff would load it: every figure, the chart,
the first 200 problem deliveries and the rendered template.
"""

# The SQL below is assembled from integers and constants of this file, never from input.
# ruff: noqa: S608

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("CACHE_URL", "locmem://")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

# BENCH_REUSE=1 keeps the PostgreSQL database afterwards and reuses it next time
# (building a million rows takes minutes; handy while tuning queries).
_REUSE = os.environ.get("BENCH_REUSE") == "1"
_URL, _drop_database, _REUSED = common.throwaway_database("reports", reuse=_REUSE)
os.environ["DATABASE_URL"] = _URL
_POSTGRES = _URL.startswith("postgres")

import django  # noqa: E402

django.setup()

from django.apps import apps  # noqa: E402
from django.db import connection  # noqa: E402


def build(count: int) -> int:
    from campaigns.models import Campaign

    # Tables straight from the models: the bench must not depend on migrations being current.
    with connection.schema_editor() as editor:
        for model in apps.get_models():
            editor.create_model(model)
    campaign = Campaign.objects.create(subject="Bench bulletin", status=Campaign.Status.SENT)
    cid = campaign.pk
    series = (
        f"generate_series(1, {count}) AS g(n)"
        if _POSTGRES
        else f"(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {count}) SELECT n FROM s) AS g"
    )
    now = "now()" if _POSTGRES else "datetime('now')"
    at = (
        (lambda minutes: f"now() - interval '2 days' + ({minutes}) * interval '1 minute'")
        if _POSTGRES
        else (lambda minutes: f"datetime('now', '-2 days', '+' || ({minutes}) || ' minutes')")
    )
    true = "true" if _POSTGRES else "1"
    with connection.cursor() as cur:
        cur.execute(f"UPDATE campaigns_campaign SET started_at = {at('0')} WHERE id = {cid}")
        cur.execute(
            # email_hash left blank: reports never match these readers against suppressions.
            "INSERT INTO subscribers_subscriber (id, email, email_hash, name, language, status, tracking_allowed, "
            f"created_at) SELECT n, 'reader' || n || '@example.org', '', '', 'en', 'confirmed', {true}, {now} "
            f"FROM {series}"
        )
        cur.execute(
            "INSERT INTO campaigns_delivery (id, campaign_id, subscriber_id, status, language, attempts, "
            "esp_message_id, error, sent_at) "
            f"SELECT n, {cid}, n, CASE WHEN n % 500 = 0 THEN 'failed' WHEN n % 997 = 0 THEN 'unknown' ELSE 'sent' END, "
            f"'en', 1, 'msg-' || n, CASE WHEN n % 500 = 0 THEN '550 relay refused' ELSE '' END, {at('n % 10')} "
            f"FROM {series}"
        )

        def events(kind: str, where: str, minutes: str, url: str = "''", reason: str = "''") -> None:
            cur.execute(
                "INSERT INTO campaigns_deliveryevent (delivery_id, campaign_id, kind, event_id, recipient_hash, "
                "esp_message_id, reason, url, occurred_at, payload) "
                f"SELECT n, {cid}, '{kind}', '{kind}-' || n, '', 'msg-' || n, {reason}, {url}, {at(minutes)}, '{{}}' "
                f"FROM {series} WHERE {where}"
            )

        events("delivered", "n % 20 <> 0", "n % 30")
        events("opened", "n % 3 = 0", "(n * 7) % 4320")
        events("clicked", "n % 12 = 0", "(n * 11) % 4320", url="'https://example.org/story-' || (n % 4)")
        events("bounced", "n % 100 = 7", "n % 60", reason="'550 5.1.1 user unknown'")
        events("soft_bounced", "n % 250 = 11", "n % 60", reason="'452 mailbox full'")
        events("complained", "n % 1500 = 3", "(n * 13) % 4320")
    # Live, campaigns.events.recording keeps these summary rows as events arrive.
    from campaigns.events.stats import rebuild_campaign_stats

    rebuild_campaign_stats(cid)
    if _POSTGRES:
        # What autovacuum does in production: statistics, and the visibility
        # map that lets the report's counts use index-only scans.
        with connection.cursor() as cur:
            cur.execute("VACUUM ANALYZE")
    return cid


def time_page(cid: int) -> float:
    from django.contrib.auth.models import User
    from django.test import RequestFactory

    from campaigns.views.reports import report

    user = User.objects.create_superuser("bench", "bench@example.org", "bench-password-long")
    request = RequestFactory().get(f"/admin/campaigns/campaign/{cid}/report/")
    request.user = user
    started = time.perf_counter()
    response = report(request, cid)
    response.render()
    elapsed = time.perf_counter() - started
    assert response.status_code == 200 and b"<svg" in response.content
    return elapsed


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    vendor = "PostgreSQL" if _POSTGRES else "SQLite"
    print(f"report bench: {count:,} deliveries on {vendor}")
    started = time.perf_counter()
    if _REUSED:
        from campaigns.models import Campaign

        cid = Campaign.objects.get(subject="Bench bulletin").pk
        print("  reusing the database built last time")
    else:
        cid = build(count)
        print(f"  built in {time.perf_counter() - started:.1f} s")
        time_page(cid)  # warm caches, as a staff member reloading the page would
    timings = sorted(time_page_again(cid) for _ in range(3))
    print(f"  report page: {timings[1]:.3f} s (median of 3; target < 1 s)")


def time_page_again(cid: int) -> float:
    from django.contrib.auth.models import User
    from django.test import RequestFactory

    from campaigns.views.reports import report

    request = RequestFactory().get(f"/admin/campaigns/campaign/{cid}/report/")
    request.user = User.objects.get(username="bench")
    started = time.perf_counter()
    report(request, cid).render()
    return time.perf_counter() - started


if __name__ == "__main__":
    try:
        main()
    finally:
        connection.close()
        if not (_REUSE and _POSTGRES):
            _drop_database()
