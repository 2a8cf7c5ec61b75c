"""CSV import of supporters, shared by ``manage.py import_subscribers`` and the admin.

All-or-nothing: every row is checked first, and one bad row means a per-row
report and nothing written. A valid file is written in one transaction with
batched queries (no query per row): 100,000 rows must take seconds, not
minutes.

Imported people count as confirmed, and the import is recorded as their
consent (file name and the ``consent_source`` text as evidence). Suppressed
addresses (unsubscribed, bounced, complained, erased) are never brought back
by an import, nor is anyone put back on a list they left.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import connection, transaction
from django.db.models import Field, Model
from django.utils import timezone
from django.utils.translation import gettext as _

from subscribers.dates import EARLIEST, LATEST, date_problem
from subscribers.models import (
    Consent,
    Language,
    MailingList,
    Subscriber,
    Subscription,
    Suppression,
    email_hash,
    normalize_email,
)
from subscribers.spreadsheets import looks_like_formula
from subscribers.text import address_problem, has_control_characters, name_problem

COLUMNS = ("email", "name", "language", "consent_source", "consent_date")
_MAX_LENGTH = {"email": 254, "name": 100, "language": 16, "consent_source": 200, "consent_date": 40}
# SQLite allows 999 parameters per query in old builds: stay below it.
_CHUNK = 900
_LEFT = {
    Subscriber.Status.UNSUBSCRIBED,
    Subscriber.Status.BOUNCED,
    Subscriber.Status.COMPLAINED,
    Subscriber.Status.ERASED,
}
_LANGUAGES = frozenset(Language.values)


@dataclass(frozen=True)
class ImportRow:
    line: int
    email: str
    name: str
    language: str
    consent_source: str
    consent_date: datetime | None


@dataclass(frozen=True)
class RowProblem:
    line: int  # 0: the file as a whole
    column: str
    message: str

    def __str__(self) -> str:
        where = _("line %(line)d") % {"line": self.line} if self.line else _("file")
        return f"{where}: {self.column}: {self.message}" if self.column else f"{where}: {self.message}"


@dataclass
class ParsedFile:
    rows: list[ImportRow] = field(default_factory=list)
    errors: list[RowProblem] = field(default_factory=list)
    skipped: list[RowProblem] = field(default_factory=list)


@dataclass
class ImportResult:
    mailing_list: MailingList
    list_created: bool
    rows: int = 0
    created: int = 0
    added: int = 0
    already: int = 0
    skipped: list[RowProblem] = field(default_factory=list)

    def summary(self) -> str:
        return _(
            "%(rows)d rows for list “%(list)s”%(new)s: %(created)d new subscribers, %(added)d existing ones "
            "added, %(already)d already on the list, %(skipped)d skipped."
        ) % {
            "rows": self.rows,
            "list": self.mailing_list.slug,
            "new": _(" (new list)") if self.list_created else "",
            "created": self.created,
            "added": self.added,
            "already": self.already,
            "skipped": len(self.skipped),
        }


class ImportFailed(Exception):
    """The file has errors: nothing was written."""

    def __init__(self, errors: list[RowProblem]) -> None:
        super().__init__(_("%(count)d problem(s) found; nothing was imported.") % {"count": len(errors)})
        self.errors = errors


def _show(value: str) -> str:
    return repr(value if len(value) <= 60 else value[:57] + "...")


def _check_text(column: str, value: str) -> str | None:
    """The message for a cell no field should hold, or None."""
    if has_control_characters(value):
        return _("line break or control character in %(value)s (header injection?)") % {"value": _show(value)}
    if len(value) > _MAX_LENGTH[column]:
        return _("longer than %(max)d characters") % {"max": _MAX_LENGTH[column]}
    if looks_like_formula(value):
        return _("%(value)s looks like a spreadsheet formula") % {"value": _show(value)}
    return None


def _parse_language(value: str) -> str:
    code = value.strip().lower().replace("_", "-").split("-")[0]
    if code not in _LANGUAGES:
        raise ValueError(
            _("%(value)s is not one of %(allowed)s") % {"value": _show(value), "allowed": ", ".join(Language.values)}
        )
    return code


def _parse_date(value: str, now: datetime) -> datetime:
    try:
        if len(value) == 10:
            moment = datetime.combine(date.fromisoformat(value), time.min)
        else:
            moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(_("%(value)s is not a date (use YYYY-MM-DD)") % {"value": _show(value)}) from None
    # Before make_aware: near year 1 or 9999 the time-zone arithmetic overflows.
    if date_problem(moment):
        raise ValueError(
            _("%(value)s is outside %(earliest)s to %(latest)s")
            % {"value": _show(value), "earliest": EARLIEST.isoformat(), "latest": LATEST.isoformat()}
        )
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    if moment > now + timedelta(days=1):
        raise ValueError(_("%(value)s is in the future") % {"value": _show(value)})
    return moment


def parse_csv(lines: Iterable[str], *, default_language: str = Language.EN) -> ParsedFile:
    """Check every row; never raises on bad input, it reports it."""
    parsed = ParsedFile()
    now = timezone.now()
    # Files repeat the same few dates and languages: parse each once.
    parse_date = functools.lru_cache(maxsize=4096)(lambda value: _parse_date(value, now))
    parse_language = functools.lru_cache(maxsize=256)(_parse_language)
    reader = csv.reader(lines)
    try:
        header = next(reader, None)
        if header is None:
            parsed.errors.append(RowProblem(0, "", _("the file is empty")))
            return parsed
        columns = [name.strip().lstrip("\ufeff").lower() for name in header]
        unknown = [name for name in columns if name not in COLUMNS]
        if "email" not in columns:
            parsed.errors.append(RowProblem(1, "", _("no “email” column in the header row")))
        if unknown:
            parsed.errors.append(
                RowProblem(
                    1,
                    "",
                    _("unknown column(s) %(unknown)s; allowed: %(allowed)s")
                    % {"unknown": ", ".join(_show(u) for u in unknown), "allowed": ", ".join(COLUMNS)},
                )
            )
        if len(set(columns)) != len(columns):
            parsed.errors.append(RowProblem(1, "", _("a column appears twice in the header row")))
        if parsed.errors:
            return parsed

        seen: dict[str, int] = {}
        while True:
            # The line a record starts on: a quoted cell may span several.
            line = reader.line_num + 1
            cells = next(reader, None)
            if cells is None:
                break
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > len(columns):
                parsed.errors.append(
                    RowProblem(line, "", _("%(n)d cells, the header has %(m)d") % {"n": len(cells), "m": len(columns)})
                )
                continue
            values = dict.fromkeys(COLUMNS, "")
            values.update(zip(columns, (cell.strip() for cell in cells), strict=False))
            problems = [
                RowProblem(line, column, message)
                for column, value in values.items()
                if value and (message := _check_text(column, value))
            ]
            if problems:
                parsed.errors.extend(problems)
                continue
            row_errors = len(parsed.errors)
            email = normalize_email(values["email"])
            why = address_problem(email) if email else _("empty")
            if why:
                message = _("%(value)s is not a valid address") % {"value": _show(email)}
                parsed.errors.append(RowProblem(line, "email", f"{message}: {why}"))
            language = default_language
            if values["language"]:
                try:
                    language = parse_language(values["language"])
                except ValueError as exc:
                    parsed.errors.append(RowProblem(line, "language", str(exc)))
            consent_date = None
            if values["consent_date"]:
                try:
                    consent_date = parse_date(values["consent_date"])
                except ValueError as exc:
                    parsed.errors.append(RowProblem(line, "consent_date", str(exc)))
            # A name greets the person in every email: the sign-up form's rules
            # (no markup, links or disguises) hold for imported names too.
            if values["name"] and (problem := name_problem(" ".join(values["name"].split()))):
                parsed.errors.append(RowProblem(line, "name", problem))
            if len(parsed.errors) > row_errors:
                continue
            if email in seen:
                parsed.skipped.append(
                    RowProblem(line, "email", _("same address as line %(line)d, skipped") % {"line": seen[email]})
                )
                continue
            seen[email] = line
            parsed.rows.append(
                ImportRow(
                    line=line,
                    email=email,
                    name=" ".join(values["name"].split()),
                    language=language,
                    consent_source=values["consent_source"],
                    consent_date=consent_date,
                )
            )
    except UnicodeDecodeError:
        parsed.errors.append(RowProblem(0, "", _("the file is not UTF-8 text; save it as “CSV UTF-8”")))
    except csv.Error as exc:
        parsed.errors.append(RowProblem(reader.line_num, "", _("not a readable CSV row (%(error)s)") % {"error": exc}))
    if not parsed.rows and not parsed.errors:
        parsed.errors.append(RowProblem(0, "", _("the file has a header but no rows")))
    return parsed


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
        suppressed: dict[str, str] = {}
        for chunk in _chunks(list(hashes.values())):
            suppressed.update(Suppression.objects.filter(email_hash__in=chunk).values_list("email_hash", "reason"))
        existing: dict[str, tuple[int, str]] = {}
        for chunk in _chunks([row.email for row in rows]):
            for email, pk, status in Subscriber.objects.filter(email__in=chunk).values_list("email", "pk", "status"):
                existing[email] = (pk, status)

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

        new = [row for row in wanted if row.email not in existing]
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
        new_emails = {row.email for row in new}
        ids: dict[str, tuple[int, str]] = {}
        for chunk in _chunks(list(new_emails)):
            for email, pk, status in Subscriber.objects.filter(email__in=chunk).values_list("email", "pk", "status"):
                ids[email] = (pk, status)
        ids.update((row.email, existing[row.email]) for row in wanted if row.email in existing)

        on_list: dict[int, str] = {}
        all_ids = [ids[row.email][0] for row in wanted if row.email in ids]
        for chunk in _chunks(all_ids):
            on_list.update(
                Subscription.objects.filter(mailing_list=mailing_list, subscriber_id__in=chunk).values_list(
                    "subscriber_id", "status"
                )
            )

        subscriptions: list[tuple[int]] = []
        consents: list[tuple[int, str, str, str, Any, Any]] = []
        pending: list[int] = []
        detail_prefix = filename[:120]
        prepare_date = _preparer(Consent, "requested_at")
        for row in wanted:
            if row.email not in ids:  # vanished between two queries (purged): nothing to attach to
                continue
            pk, status = ids[row.email]
            current = on_list.get(pk)
            if current == Subscription.Status.UNSUBSCRIBED:
                result.skipped.append(
                    RowProblem(row.line, "email", _("skipped: this person left list “%(list)s”") % {"list": list_slug})
                )
                continue
            if current == Subscription.Status.ACTIVE and status != Subscriber.Status.PENDING:
                result.already += 1
                continue
            if current is None:
                subscriptions.append((pk,))
            if status == Subscriber.Status.PENDING:
                pending.append(pk)
            if row.email in new_emails and status == Subscriber.Status.CONFIRMED:
                result.created += 1
            else:
                result.added += 1
            requested = prepare_date(row.consent_date or now)
            detail = f"{detail_prefix}: {row.consent_source}"[:255] if row.consent_source else detail_prefix
            consents.append((pk, row.email, row.language, detail, requested, requested))
        _insert_rows(
            Subscription,
            varying=["subscriber"],
            rows=subscriptions,
            common={"mailing_list": mailing_list.pk, "status": Subscription.Status.ACTIVE, "created_at": now},
            ignore_conflicts=True,
        )
        for chunk in _chunks(pending):
            Subscriber.objects.filter(pk__in=chunk, status=Subscriber.Status.PENDING).update(
                status=Subscriber.Status.CONFIRMED, confirmed_at=now
            )
        _insert_rows(
            Consent,
            varying=["subscriber", "email", "language", "detail", "requested_at", "confirmed_at"],
            rows=consents,
            common={
                "action": Consent.Action.IMPORT,
                "basis": Consent.Basis.EXPRESS,
                "lists": [list_slug],
                "source": Consent.Source.IMPORT,
                "created_at": now,
                "actor": actor.pk if getattr(actor, "pk", None) else None,
            },
        )
    return result


def import_csv(
    lines: Iterable[str], *, list_slug: str, filename: str, actor: Any = None, list_name: str = ""
) -> ImportResult:
    """Check, then import; ``ImportFailed`` (nothing written) when any row is bad."""
    try:
        validate_slug(list_slug)
        if len(list_slug) > MailingList._meta.get_field("slug").max_length:  # type: ignore[operator]
            raise ValidationError("too long")
    except ValidationError:
        raise ImportFailed(
            [
                RowProblem(
                    0,
                    "",
                    _("%(slug)s is not a valid list slug (letters, digits, - and _)") % {"slug": _show(list_slug)},
                )
            ]
        ) from None
    parsed = parse_csv(lines)
    if parsed.errors:
        raise ImportFailed(parsed.errors)
    result = import_rows(rows=parsed.rows, list_slug=list_slug, filename=filename, actor=actor, list_name=list_name)
    result.rows += len(parsed.skipped)
    result.skipped = sorted(parsed.skipped + result.skipped, key=lambda problem: problem.line)
    return result
