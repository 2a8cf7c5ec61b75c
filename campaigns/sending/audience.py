"""Step 1 of the pipeline: who gets a campaign, counted and snapshotted in SQL.

The audience is the union of the campaign's lists (active subscriptions) of
confirmed, unsuppressed, not-paused subscribers, optionally restricted to some
languages and a sign-up window, and by whatever the apps above campaigns
registered (``campaigns/sending/plugins.py``: donors, people who already
acted). ``count_audience`` counts it with one
``SELECT COUNT(*)``; ``snapshot`` writes it once into the Delivery ledger with
one ``INSERT … SELECT … ON CONFLICT DO NOTHING`` (so running it twice is
harmless). Nothing here loads subscribers into Python.

Suppressions are keyed by a hash of the address (they outlive GDPR erasure);
each subscriber row stores that hash (``Subscriber.email_hash``), so leaving
the suppressed out is an indexed anti-join. Recomputing sha256 of every
address in SQL cost about a second per count at 1M subscribers.
"""

# The SQL here is built from model table names and code constants; every value is a parameter.
# ruff: noqa: S608
from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from campaigns.models import ABTest, Campaign, CampaignTranslation, Delivery, DeliveryEvent, PersonEngagement
from campaigns.sending import ab_test, frequency, plugins
from subscribers.models import Subscriber, Subscription, Suppression


def _audience_where(campaign: Campaign, *, leave_out: str = "", capped: bool | None = False) -> tuple[str, list[Any]]:
    """FROM + WHERE selecting the campaign's audience as ``s`` (subscriber rows).

    The apps above campaigns add their conditions (``plugins.AudienceFilter``);
    ``leave_out`` names one of them to skip (``count_left_out``). ``capped``:
    False leaves out whoever the frequency cap holds back, True selects only
    them, None ignores the cap.
    """
    subscriber = Subscriber._meta.db_table
    subscription = Subscription._meta.db_table
    suppression = Suppression._meta.db_table
    list_ids = list(campaign.lists.values_list("id", flat=True)) or [-1]
    params: list[Any] = [Subscriber.Status.CONFIRMED, timezone.localdate()]
    sql = (
        f" FROM {subscriber} s"
        " WHERE s.status = %s"
        " AND (s.paused_until IS NULL OR s.paused_until < %s)"
        f" AND EXISTS (SELECT 1 FROM {subscription} sub WHERE sub.subscriber_id = s.id"
        f" AND sub.status = %s AND sub.mailing_list_id IN ({', '.join(['%s'] * len(list_ids))}))"
        f" AND NOT EXISTS (SELECT 1 FROM {suppression} x WHERE x.email_hash = s.email_hash)"
    )
    params += [Subscription.Status.ACTIVE, *list_ids]
    if campaign.languages:
        sql += f" AND s.language IN ({', '.join(['%s'] * len(campaign.languages))})"
        params += list(campaign.languages)
    if campaign.signed_up_after:
        sql += " AND s.created_at >= %s"
        params.append(campaign.signed_up_after)
    if campaign.signed_up_before:
        sql += " AND s.created_at < %s"
        params.append(campaign.signed_up_before)
    if campaign.engaged_within_days:
        # Opens are approximate (Apple Mail preloads pixels), so a click or an
        # open both count as engagement; untracked people never qualify.
        # Rows rolled up after TOCSIN_LEDGER_RETENTION_DAYS left their latest times in PersonEngagement.
        delivery, event = Delivery._meta.db_table, DeliveryEvent._meta.db_table
        engagement = PersonEngagement._meta.db_table
        since = timezone.now() - timedelta(days=campaign.engaged_within_days)
        sql += (
            f" AND (EXISTS (SELECT 1 FROM {delivery} d JOIN {event} e ON e.delivery_id = d.id"
            " WHERE d.subscriber_id = s.id AND e.kind IN (%s, %s) AND e.occurred_at >= %s)"
            f" OR EXISTS (SELECT 1 FROM {engagement} g WHERE g.subscriber_id = s.id"
            " AND (g.last_opened_at >= %s OR g.last_clicked_at >= %s)))"
        )
        params += [DeliveryEvent.Kind.OPENED, DeliveryEvent.Kind.CLICKED, since, since, since]
    for name, audience_filter in plugins.audience_filters():
        if name != leave_out:
            extra_sql, extra_params = audience_filter(campaign, alias="s")
            sql += extra_sql
            params += extra_params
    if capped is not None:
        # Only a campaign that already sent (a re-run snapshot) has sends of its own to leave out of the count.
        own = campaign.pk if Delivery.objects.filter(campaign=campaign, status=Delivery.Status.SENT).exists() else None
        cap_sql, cap_params = frequency.condition(kind=campaign.kind, exclude_campaign=own, held=capped)
        sql, params = sql + cap_sql, params + cap_params
    return sql, params


def _fresh_statistics() -> None:
    """ANALYZE the audience tables when Postgres has no current statistics for them.

    A list imported minutes ago has none yet (autovacuum gets there later);
    the planner then guesses "one row" and picks a nested loop that turns a
    sub-second count into minutes (measured: 15 s for 5,000 people). ANALYZE
    samples a fixed number of rows, so it stays well under a second at 1M.
    """
    if connection.vendor != "postgresql":
        return
    tables = [Subscriber._meta.db_table, Subscription._meta.db_table]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_stat_user_tables WHERE relname = ANY(%s) AND ("
            " COALESCE(last_analyze, last_autoanalyze) IS NULL"
            " OR n_mod_since_analyze > GREATEST(n_live_tup, 1000) / 5)",
            [tables],
        )
        stale = [row[0] for row in cursor.fetchall()]
        for table in stale:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")


def count_audience(campaign: Campaign) -> int:
    """How many people would get ``campaign`` if it were sent now (one COUNT query)."""
    _fresh_statistics()
    where, params = _audience_where(campaign)
    return _count(campaign, "SELECT COUNT(*)" + where, params)


def _count(campaign: Campaign, sql: str, params: list[Any]) -> int:
    """One COUNT; with the frequency cap, in a transaction whose sort memory holds the cap's grouping.

    The cap groups a window of the ledger by person (a million rows for a
    weekly bulletin to a million people): with Postgres's default 4 MB it
    spills to disk and takes several times longer.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            _settings_for_a_million(cursor, cap=frequency.applies_to(campaign.kind))
        cursor.execute(sql, params)
        return int(cursor.fetchone()[0])


def _settings_for_a_million(cursor: Any, *, cap: bool = True) -> None:
    """For this transaction only: no JIT compilation, and (with the cap or a snapshot) sort memory.

    Postgres compiles a query over a million rows to machine code first
    (``jit``, on by default since 11): 0.2-0.3 s of a one-second count on
    2 cores (bench/audience_bench.py), never won back by a query this short.
    """
    cursor.execute("SET LOCAL jit = off")
    if cap:
        cursor.execute("SET LOCAL work_mem = '64MB'")


def count_left_out(campaign: Campaign, filter_name: str) -> int:
    """How many people the audience filter ``filter_name`` alone leaves out (for an audience note)."""
    where, params = _audience_where(campaign, leave_out=filter_name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*)" + where, params)
        without = int(cursor.fetchone()[0])
    return max(without - count_audience(campaign), 0)


def count_capped(campaign: Campaign) -> int:
    """How many of the audience the frequency cap holds back right now (0 when no cap applies)."""
    if not frequency.applies_to(campaign.kind):
        return 0
    where, params = _audience_where(campaign, capped=True)
    return _count(campaign, "SELECT COUNT(*)" + where, params)


def count_audience_by_language(campaign: Campaign) -> dict[str, int]:
    """How many of the audience read each language (one grouped COUNT query)."""
    where, params = _audience_where(campaign)
    with connection.cursor() as cursor:
        cursor.execute("SELECT s.language, COUNT(*)" + where + " GROUP BY s.language", params)
        return {str(language): int(count) for language, count in cursor.fetchall()}


def count_untracked_by_choice(campaign: Campaign) -> int:
    """How many of the audience said no to tracking themselves (preference centre, staff)."""
    where, params = _audience_where(campaign)
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*)" + where + " AND s.tracking_allowed = %s", [*params, False])
        return int(cursor.fetchone()[0])


def campaign_languages(campaign: Campaign) -> list[str]:
    """The languages a recipient can get this campaign in: the main one and its translations."""
    translated = CampaignTranslation.objects.filter(campaign=campaign).values_list("language", flat=True)
    return [campaign.language, *(lang for lang in translated if lang != campaign.language)]


def snapshot(campaign: Campaign) -> int:
    """Write the audience into the ledger as queued deliveries; return how many rows were added.

    Each delivery's language is the subscriber's when the campaign has a
    version in it, else the campaign's main language. Later sign-ups never
    join; re-running adds nobody twice (unique campaign + subscriber).

    How many the frequency cap held back is stored on the campaign. With an
    A/B test, everyone is written ``held`` and the sample is then drawn from
    them (``ab_test.draw_sample``): one ledger, so nobody gets two subjects.
    """
    _fresh_statistics()
    capped = count_capped(campaign)
    Campaign.objects.filter(pk=campaign.pk).update(frequency_capped=capped)
    campaign.frequency_capped = capped
    testing = ABTest.objects.filter(campaign=campaign).exists()
    where, params = _audience_where(campaign)
    languages = campaign_languages(campaign)
    language_sql = f"CASE WHEN s.language IN ({', '.join(['%s'] * len(languages))}) THEN s.language ELSE %s END"
    delivery = Delivery._meta.db_table
    # ON CONFLICT costs a speculative insertion per row (a quarter of the time
    # at 1M rows): only a ledger that already has rows needs it. The first
    # snapshot runs under the campaign's row lock (batching.prepare), and the
    # unique index still refuses a duplicate.
    conflict = (
        " ON CONFLICT (campaign_id, subscriber_id) DO NOTHING"
        if Delivery.objects.filter(campaign=campaign).exists()
        else ""
    )
    sql = (
        f"INSERT INTO {delivery} (campaign_id, subscriber_id, status, language, attempts,"
        " claimed_at, sent_at, esp_message_id, error)"
        f" SELECT %s, s.id, %s, {language_sql}, 0, NULL, NULL, '', ''" + where + " ORDER BY s.id" + conflict
    )
    status = Delivery.Status.HELD if testing else Delivery.Status.QUEUED
    all_params = [campaign.pk, status, *languages, campaign.language, *params]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and connection.in_atomic_block:
            # The two sorts of a million-row audience fit in memory instead of spilling to disk.
            _settings_for_a_million(cursor)
        cursor.execute(sql, all_params)
        added = max(cursor.rowcount, 0)
    if testing:
        ab_test.draw_sample(campaign)
    return added
