"""The ledger's counters: each campaign's deliveries per status, kept by the database as the rows change.

A live campaign's report and the API's progress read a few ``DeliveryCount``
rows instead of counting a million deliveries in a table of fifty million
(2.1 s at 50 million rows, bench/ledger_bench.py). PostgreSQL keeps them with
statement-level triggers on the ledger: each INSERT, UPDATE or DELETE of
deliveries adds its net change per (campaign, status) in one set-based
upsert, inside the same transaction, so the counts are exact whatever wrote
the rows (the snapshot, a claim, a record, the sweeper, a person leaving, the
roll-up, Django's cascade) and a rolled-back or killed transaction takes its
counts with it. Each writing connection has rows of its own (``shard`` = its
backend pid), so two workers never wait on one counter row, and a statement
that changes no status writes nothing.

SQLite (development only) has no triggers here: its counts come from the rows.
"""

# The SQL here is built from model table names; no value is interpolated.
# ruff: noqa: S608
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Sum

from campaigns.models import Delivery, DeliveryCount

_LEDGER = Delivery._meta.db_table
_COUNTS = DeliveryCount._meta.db_table
_FUNCTION = "tocsin_count_deliveries"

# Net change per (campaign, status) of one statement; sorted, so that two
# statements upserting the same rows take their locks in the same order.
_UPSERT = f"""
    INSERT INTO {_COUNTS} AS t (campaign_id, status, shard, count)
    SELECT campaign_id, status, pg_backend_pid(), sum(n) FROM ({{changes}}) AS changes
    GROUP BY campaign_id, status HAVING sum(n) <> 0 ORDER BY campaign_id, status
    ON CONFLICT (campaign_id, status, shard) DO UPDATE SET count = t.count + excluded.count;
"""
_ADDED = "SELECT campaign_id, status, 1 AS n FROM new_rows"
_REMOVED = "SELECT campaign_id, status, -1 AS n FROM old_rows"

# plpgsql plans each statement when it first runs it, so the branch of
# another operation may name a transition table this trigger does not have.
_FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION {_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    {_UPSERT.format(changes=_ADDED)}
  ELSIF TG_OP = 'DELETE' THEN
    {_UPSERT.format(changes=_REMOVED)}
  ELSE
    {_UPSERT.format(changes=f"{_ADDED} UNION ALL {_REMOVED}")}
  END IF;
  RETURN NULL;
END
$$
"""

_TRIGGERS = {
    "tocsin_count_inserted": "AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows",
    "tocsin_count_updated": "AFTER UPDATE ON {table} REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "tocsin_count_deleted": "AFTER DELETE ON {table} REFERENCING OLD TABLE AS old_rows",
}

__all__ = ["counts_of", "fold", "install", "rebuild", "status_counts", "uninstall"]


def install() -> None:
    """Create the function and the triggers where missing (migrate runs this after every migration)."""
    if connection.vendor != "postgresql":
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_FUNCTION_SQL)
        cursor.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass", [_LEDGER])
        present = {row[0] for row in cursor.fetchall()}
        for name, when in _TRIGGERS.items():
            # Only when missing: CREATE TRIGGER locks the ledger against every send.
            if name not in present:
                when = when.format(table=_LEDGER)
                cursor.execute(f"CREATE TRIGGER {name} {when} FOR EACH STATEMENT EXECUTE FUNCTION {_FUNCTION}()")


def uninstall() -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for name in _TRIGGERS:
            cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {_LEDGER}")
        cursor.execute(f"DROP FUNCTION IF EXISTS {_FUNCTION}()")


def rebuild() -> None:
    """Every campaign's counters from its rows (the migration's backfill; a repair).

    Writers wait meanwhile (SHARE ROW EXCLUSIVE: reads go on), so no change
    falls between the count and the triggers: 28 s at 50 million rows (bench/ledger_bench.py).
    """
    if connection.vendor != "postgresql":
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {_LEDGER} IN SHARE ROW EXCLUSIVE MODE")
        install()
        cursor.execute(f"DELETE FROM {_COUNTS}")
        cursor.execute(
            f"INSERT INTO {_COUNTS} (campaign_id, status, shard, count)"
            f" SELECT campaign_id, status, 0, count(*) FROM {_LEDGER} GROUP BY campaign_id, status"
        )


# Rows a writer holds in an open transaction are skipped (SKIP LOCKED): the
# fold never makes a send wait, and takes them next time. Shard 0 is no
# backend's pid, so the folded rows stay out of every writer's way.
_FOLD = f"""
    WITH gone AS (
        DELETE FROM {_COUNTS} WHERE id IN (
            SELECT id FROM {_COUNTS} WHERE shard <> 0 OR count = 0 FOR UPDATE SKIP LOCKED
        ) RETURNING campaign_id, status, count
    ), folded AS (
        INSERT INTO {_COUNTS} AS t (campaign_id, status, shard, count)
        SELECT campaign_id, status, 0, sum(count) FROM gone
        GROUP BY campaign_id, status HAVING sum(count) <> 0 ORDER BY campaign_id, status
        ON CONFLICT (campaign_id, status, shard) DO UPDATE SET count = t.count + excluded.count
    )
    SELECT count(*) FROM gone
"""


def fold() -> int:
    """Sum each campaign's counter rows into one per status; the number of rows folded away.

    Every connection that ever wrote a campaign's deliveries leaves rows of
    its own (workers restarted after N tasks get new pids), so reads would
    slowly sum more rows; beat folds them every hour. The sums are unchanged,
    and a row that sums to zero goes.
    """
    if connection.vendor != "postgresql":
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_FOLD)
        return int(cursor.fetchone()[0])


def status_counts(campaign_id: int) -> dict[str, int]:
    """The campaign's deliveries per status (statuses with none left out), as a GROUP BY over its rows says."""
    return counts_of([campaign_id])[campaign_id]


def counts_of(campaign_ids: list[int]) -> dict[int, dict[str, int]]:
    """``status_counts`` for several campaigns in one query: a few counter rows each."""
    rows: Iterable[tuple[Any, ...]]
    if connection.vendor == "postgresql":
        rows = (
            DeliveryCount.objects.filter(campaign_id__in=campaign_ids)
            .values_list("campaign_id", "status")
            .annotate(n=Sum("count"))
            .order_by()
        )
    else:
        rows = (
            Delivery.objects.filter(campaign_id__in=campaign_ids)
            .values_list("campaign_id", "status")
            .annotate(n=Count("id"))
            .order_by()
        )
    counts: dict[int, dict[str, int]] = {pk: {} for pk in campaign_ids}
    for campaign_id, status, n in rows:
        if n:
            counts[campaign_id][status] = int(n)
    return counts


def install_after_migrate(sender: Any, **kwargs: Any) -> None:
    """Test databases and ``migrate --run-syncdb`` make tables without running the migration that installs them."""
    install()


def forget_deleted_campaign(sender: Any, *, instance: Any, **kwargs: Any) -> None:
    """A deleted campaign's counters, last (its deliveries' deletion wrote to them)."""
    DeliveryCount.objects.filter(campaign_id=instance.pk).delete()
