"""Reading an import file: every row checked, every problem reported, nothing raised."""

from __future__ import annotations

import csv
import functools
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar

from django.utils import timezone
from django.utils.translation import gettext as _

from subscribers.dates import EARLIEST, LATEST, date_problem
from subscribers.importing.rows import COLUMNS, ImportRow, ParsedFile, RowProblem
from subscribers.models import Language, normalize_email
from subscribers.spreadsheets import looks_like_formula
from subscribers.text import address_problem, has_control_characters, name_problem

_MAX_LENGTH = {"email": 254, "name": 100, "language": 16, "consent_source": 200, "consent_date": 40}
_LANGUAGES = frozenset(Language.values)
T = TypeVar("T")


def shown(value: str) -> str:
    """A cell as a problem report quotes it: in quotes, long ones cut short."""
    return repr(value if len(value) <= 60 else value[:57] + "...")


def read_email(line: int, value: str, problems: list[RowProblem]) -> str:
    """The cell's address, normalised; what is wrong with it goes to ``problems``."""
    email = normalize_email(value)
    why = address_problem(email) if email else _("empty")
    if why:
        message = _("%(value)s is not a valid address") % {"value": shown(email)}
        problems.append(RowProblem(line, "email", f"{message}: {why}"))
    return email


def _check_text(column: str, value: str) -> str | None:
    """The message for a cell no field should hold, or None."""
    if has_control_characters(value):
        return _("line break or control character in %(value)s (header injection?)") % {"value": shown(value)}
    if len(value) > _MAX_LENGTH[column]:
        return _("longer than %(max)d characters") % {"max": _MAX_LENGTH[column]}
    if looks_like_formula(value):
        return _("%(value)s looks like a spreadsheet formula") % {"value": shown(value)}
    return None


def _parse_language(value: str) -> str:
    code = value.strip().lower().replace("_", "-").split("-")[0]
    if code not in _LANGUAGES:
        raise ValueError(
            _("%(value)s is not one of %(allowed)s") % {"value": shown(value), "allowed": ", ".join(Language.values)}
        )
    return code


def parse_date(value: str, now: datetime, *, tz: Any = None) -> datetime:
    """A cell's date or date-time (subscribers/dates.py's range, not in the future), or ValueError.

    A value without an offset is in ``tz`` (the current time zone when None).
    """
    try:
        if len(value) == 10:
            moment = datetime.combine(date.fromisoformat(value), time.min)
        else:
            moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(_("%(value)s is not a date (use YYYY-MM-DD)") % {"value": shown(value)}) from None
    # Before make_aware: near year 1 or 9999 the time-zone arithmetic overflows.
    if date_problem(moment):
        raise ValueError(
            _("%(value)s is outside %(earliest)s to %(latest)s")
            % {"value": shown(value), "earliest": EARLIEST.isoformat(), "latest": LATEST.isoformat()}
        )
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, tz)
    if moment > now + timedelta(days=1):
        raise ValueError(_("%(value)s is in the future") % {"value": shown(value)})
    return moment


class _RowReader:
    """Turns one row's cells into an ``ImportRow``, or the problems that stop it."""

    def __init__(self, default_language: str) -> None:
        now = timezone.now()
        self.default_language = default_language
        # Files repeat the same few dates and languages: parse each once.
        self.parse_date: Callable[[str], datetime] = functools.lru_cache(maxsize=4096)(
            lambda value: parse_date(value, now)
        )
        self.parse_language: Callable[[str], str] = functools.lru_cache(maxsize=256)(_parse_language)

    def read(self, line: int, values: dict[str, str]) -> tuple[ImportRow | None, list[RowProblem]]:
        problems = [
            RowProblem(line, column, message)
            for column, value in values.items()
            if value and (message := _check_text(column, value))
        ]
        if problems:
            return None, problems
        email = read_email(line, values["email"], problems)
        language = _parsed(line, "language", values["language"], self.parse_language, problems)
        consent_date = _parsed(line, "consent_date", values["consent_date"], self.parse_date, problems)
        name = " ".join(values["name"].split())
        # A name greets the person in every email: the sign-up form's rules
        # (no markup, links or disguises) hold for imported names too.
        if name and (problem := name_problem(name)):
            problems.append(RowProblem(line, "name", problem))
        if problems:
            return None, problems
        row = ImportRow(
            line=line,
            email=email,
            name=name,
            language=language or self.default_language,
            consent_source=values["consent_source"],
            consent_date=consent_date,
        )
        return row, []


def _parsed(line: int, column: str, value: str, parse: Callable[[str], T], problems: list[RowProblem]) -> T | None:
    """``parse(value)``, or None when the cell is empty; a ValueError becomes a problem of the row."""
    if not value:
        return None
    try:
        return parse(value)
    except ValueError as exc:
        problems.append(RowProblem(line, column, str(exc)))
        return None


def _read_header(reader: Iterator[list[str]], parsed: ParsedFile) -> list[str]:
    """The header's column names; problems with them go to ``parsed.errors``."""
    header = next(reader, None)
    if header is None:
        parsed.errors.append(RowProblem(0, "", _("the file is empty")))
        return []
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
                % {"unknown": ", ".join(shown(u) for u in unknown), "allowed": ", ".join(COLUMNS)},
            )
        )
    if len(set(columns)) != len(columns):
        parsed.errors.append(RowProblem(1, "", _("a column appears twice in the header row")))
    return columns


def _read_rows(reader: Any, columns: list[str], parsed: ParsedFile, rows: _RowReader) -> None:
    seen: dict[str, int] = {}
    while True:
        # The line a record starts on: a quoted cell may span several.
        line = reader.line_num + 1
        cells = next(reader, None)
        if cells is None:
            return
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(columns):
            parsed.errors.append(
                RowProblem(line, "", _("%(n)d cells, the header has %(m)d") % {"n": len(cells), "m": len(columns)})
            )
            continue
        values = dict.fromkeys(COLUMNS, "")
        values.update(zip(columns, (cell.strip() for cell in cells), strict=False))
        row, problems = rows.read(line, values)
        parsed.errors.extend(problems)
        if row is None:
            continue
        if row.email in seen:
            message = _("same address as line %(line)d, skipped") % {"line": seen[row.email]}
            parsed.skipped.append(RowProblem(line, "email", message))
            continue
        seen[row.email] = line
        parsed.rows.append(row)


def parse_csv(lines: Iterable[str], *, default_language: str = Language.EN) -> ParsedFile:
    """Check every row; never raises on bad input, it reports it."""
    parsed = ParsedFile()
    reader = csv.reader(lines)
    try:
        columns = _read_header(reader, parsed)
        if not parsed.errors:
            _read_rows(reader, columns, parsed, _RowReader(default_language))
    except UnicodeDecodeError:
        parsed.errors.append(RowProblem(0, "", _("the file is not UTF-8 text; save it as “CSV UTF-8”")))
    except csv.Error as exc:
        parsed.errors.append(RowProblem(reader.line_num, "", _("not a readable CSV row (%(error)s)") % {"error": exc}))
    if not parsed.rows and not parsed.errors:
        parsed.errors.append(RowProblem(0, "", _("the file has a header but no rows")))
    return parsed
