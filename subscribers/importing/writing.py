"""Writing checked rows: one transaction, batched statements, no query per row.

Nobody suppressed comes back, and nobody is put back on a list they left:
those rows are reported as skipped.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Field, Model
from django.utils import timezone
from django.utils.translation import gettext as _

from subscribers.importing.rows import ImportResult, ImportRow, RowProblem
from subscribers.models import Consent, MailingList, Subscriber, Subscription, Suppression, email_hash

# SQLite allows 999 parameters per query in old builds: stay below it.
_CHUNK = 900
_LEFT = {
    Subscriber.Status.UNSUBSCRIBED,
    Subscriber.Status.BOUNCED,
    Subscriber.Status.COMPLAINED,
    Subscriber.Status.ERASED,
}


def _preparer(model: type[Model], field_name: str) -> Callable[[Any], Any]:
    """The database form of a value, computed once per distinct value."""
    model_field = model._meta.get_field(field_name)
    assert isinstance(model_field, Field)

    @functools.cache
    def prepare(value: Any) -> Any:
        return model_field.get_db_prep_save(value, connection)

    return prepare


def _insert_rows(
    model: type[Model],
    *,
    varying: list[str],
    rows: Iterable[tuple[Any, ...]],
    common: dict[str, Any],
    ignore_conflicts: bool = False,
) -> None:
    """INSERT many rows, skipping the ORM's per-object work.

    ``bulk_create`` spends most of a 100,000-row import building model
    instances and preparing values one by one; here the values that are the
    same for every row are prepared once. Fields not named take their model
    default, so a field added later with a default keeps working.
    ``varying`` values must already be in database form (see ``_preparer``).
    """
    meta = model._meta
    fixed: dict[str, Any] = {}
    for model_field in meta.concrete_fields:
        if model_field.primary_key or model_field.name in varying:
            continue
        if model_field.name in common:
            value = common[model_field.name]
        elif getattr(model_field, "auto_now", False) or getattr(model_field, "auto_now_add", False):
            value = timezone.now()
        else:
            value = model_field.get_default()
        fixed[model_field.column] = model_field.get_db_prep_save(value, connection)
    quote = connection.ops.quote_name
    columns: list[str] = [meta.get_field(name).column for name in varying] + list(fixed)  # type: ignore[union-attr,misc,assignment]
    column_list = ", ".join(quote(column) for column in columns)
    table = quote(meta.db_table)
    tail = tuple(fixed.values())
    conflict = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""

    if connection.vendor == "postgresql":
        # COPY into a scratch table, then one INSERT … SELECT: psycopg's
        # client-side parameter binding of huge multi-row VALUES costs more
        # than the database work itself.
        scratch = quote(f"import_{meta.db_table}")
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TEMP TABLE {scratch} AS SELECT {column_list} FROM {table} WITH NO DATA")  # noqa: S608
            try:
                with cursor.cursor.copy(f"COPY {scratch} ({column_list}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row + tail)
                cursor.execute(f"INSERT INTO {table} ({column_list}) SELECT {column_list} FROM {scratch}{conflict}")  # noqa: S608
            finally:
                cursor.execute(f"DROP TABLE {scratch}")
        return

    # Multi-row VALUES: one statement per batch rather than per row.
    per_statement = min(1000, (connection.features.max_query_params or 65535) // len(columns))
    head = f"INSERT INTO {table} ({column_list}) VALUES "  # noqa: S608 (names come from the model, values are parameters)
    one_row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    with connection.cursor() as cursor:
        batch: list[Any] = []
        count = 0
        for row in rows:
            batch.extend(row)
            batch.extend(tail)
            count += 1
            if count == per_statement:
                cursor.execute(head + ", ".join([one_row] * count) + conflict, batch)
                batch, count = [], 0
        if count:
            cursor.execute(head + ", ".join([one_row] * count) + conflict, batch)


def _chunks(items: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _by_email(emails: list[str]) -> dict[str, tuple[int, str]]:
    """{address: (subscriber id, status)} of those who are already here."""
    found: dict[str, tuple[int, str]] = {}
    for chunk in _chunks(emails):
        for email, pk, status in Subscriber.objects.filter(email__in=chunk).values_list("email", "pk", "status"):
            found[email] = (pk, status)
    return found


def _without_the_suppressed(
    rows: list[ImportRow], hashes: dict[str, str], existing: dict[str, tuple[int, str]], result: ImportResult
) -> list[ImportRow]:
    suppressed: dict[str, str] = {}
    for chunk in _chunks(list(hashes.values())):
        suppressed.update(Suppression.objects.filter(email_hash__in=chunk).values_list("email_hash", "reason"))
    wanted: list[ImportRow] = []
    for row in rows:
        reason = suppressed.get(hashes[row.email])
        status = existing.get(row.email, (0, ""))[1]
        if reason or status in _LEFT:
            label = Suppression.Reason(reason).label if reason else Subscriber.Status(status).label
            result.skipped.append(
                RowProblem(row.line, "email", _("skipped: suppressed (%(reason)s)") % {"reason": label})
            )
        else:
            wanted.append(row)
    return wanted


class _Writes:
    """The rows to insert for one import, sorted out row by row before any is written."""

    def __init__(self, *, filename: str, now: datetime) -> None:
        self.subscriptions: list[tuple[int]] = []
        self.consents: list[tuple[int, str, str, str, Any, Any]] = []
        self.pending: list[int] = []
        self.detail_prefix = filename[:120]
        self.now = now
        self.prepare_date = _preparer(Consent, "requested_at")

    def add(self, row: ImportRow, pk: int, status: str, *, on_list: str | None) -> None:
        if on_list is None:
            self.subscriptions.append((pk,))
        if status == Subscriber.Status.PENDING:
            self.pending.append(pk)
        requested = self.prepare_date(row.consent_date or self.now)
        detail = f"{self.detail_prefix}: {row.consent_source}"[:255] if row.consent_source else self.detail_prefix
        self.consents.append((pk, row.email, row.language, detail, requested, requested))

    def write(self, *, mailing_list: MailingList, actor: Any) -> None:
        _insert_rows(
            Subscription,
            varying=["subscriber"],
            rows=self.subscriptions,
            common={"mailing_list": mailing_list.pk, "status": Subscription.Status.ACTIVE, "created_at": self.now},
            ignore_conflicts=True,
        )
        for chunk in _chunks(self.pending):
            Subscriber.objects.filter(pk__in=chunk, status=Subscriber.Status.PENDING).update(
                status=Subscriber.Status.CONFIRMED, confirmed_at=self.now
            )
        _insert_rows(
            Consent,
            varying=["subscriber", "email", "language", "detail", "requested_at", "confirmed_at"],
            rows=self.consents,
            common={
                "action": Consent.Action.IMPORT,
                "basis": Consent.Basis.EXPRESS,
                "lists": [mailing_list.slug],
                "source": Consent.Source.IMPORT,
                "created_at": self.now,
                "actor": actor.pk if getattr(actor, "pk", None) else None,
            },
        )


def _insert_new_subscribers(new: list[ImportRow], hashes: dict[str, str], now: datetime) -> None:
    _insert_rows(
        Subscriber,
        # email_hash too: left out, it would take its default ("") and the
        # audience SQL would never match these people against Suppression.
        varying=["email", "email_hash", "name", "language"],
        rows=((row.email, hashes[row.email], row.name, row.language) for row in new),
        common={"status": Subscriber.Status.CONFIRMED, "created_at": now, "confirmed_at": now},
        # Someone signing up during the import wins; they are picked up below as existing.
        ignore_conflicts=True,
    )


def _on_list(mailing_list: MailingList, ids: list[int]) -> dict[int, str]:
    """{subscriber id: subscription status} of those already on the list."""
    found: dict[int, str] = {}
    for chunk in _chunks(ids):
        found.update(
            Subscription.objects.filter(mailing_list=mailing_list, subscriber_id__in=chunk).values_list(
                "subscriber_id", "status"
            )
        )
    return found


def import_rows(
    *,
    rows: list[ImportRow],
    list_slug: str,
    filename: str,
    actor: Any = None,
    list_name: str = "",
) -> ImportResult:
    """Write checked rows to ``list_slug`` (created, not public, if missing)."""
    now = timezone.now()
    with transaction.atomic():
        mailing_list, list_created = MailingList.objects.get_or_create(
            slug=list_slug,
            # Private until staff decide to offer it on the sign-up form.
            defaults={"name": list_name or list_slug.replace("-", " ").replace("_", " ").title(), "public": False},
        )
        result = ImportResult(mailing_list=mailing_list, list_created=list_created, rows=len(rows))
        hashes = {row.email: email_hash(row.email) for row in rows}
        existing = _by_email([row.email for row in rows])
        wanted = _without_the_suppressed(rows, hashes, existing, result)
        new = [row for row in wanted if row.email not in existing]
        _insert_new_subscribers(new, hashes, now)
        new_emails = {row.email for row in new}
        ids = _by_email(list(new_emails))
        ids.update((row.email, existing[row.email]) for row in wanted if row.email in existing)
        on_list = _on_list(mailing_list, [ids[row.email][0] for row in wanted if row.email in ids])

        writes = _Writes(filename=filename, now=now)
        for row in wanted:
            if row.email not in ids:  # vanished between two queries (purged): nothing to attach to
                continue
            pk, status = ids[row.email]
            current = on_list.get(pk)
            if current == Subscription.Status.UNSUBSCRIBED:
                message = _("skipped: this person left list “%(list)s”") % {"list": list_slug}
                result.skipped.append(RowProblem(row.line, "email", message))
            elif current == Subscription.Status.ACTIVE and status != Subscriber.Status.PENDING:
                result.already += 1
            else:
                writes.add(row, pk, status, on_list=current)
                if row.email in new_emails and status == Subscriber.Status.CONFIRMED:
                    result.created += 1
                else:
                    result.added += 1
        writes.write(mailing_list=mailing_list, actor=actor)
    return result
