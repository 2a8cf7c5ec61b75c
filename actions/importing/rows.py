"""What both imports share: the columns, the row problems, reading a CSV file's records, districts."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any

from django.utils.translation import gettext as _

from actions.models import District
from subscribers.importing import RowProblem  # one report shape for every importer
from subscribers.spreadsheets import looks_like_formula
from subscribers.text import text_problem

TARGET_REQUIRED = ("name", "email")
TARGET_OPTIONAL = (
    "title",
    "group",
    "district",
    "district_name",
    "province",
    "party",
    "language",
    "do_not_email",
)
TARGET_COLUMNS = TARGET_REQUIRED + TARGET_OPTIONAL
DISTRICT_REQUIRED = ("postal_prefix", "district")
DISTRICT_OPTIONAL = ("district_name", "province")
DISTRICT_COLUMNS = DISTRICT_REQUIRED + DISTRICT_OPTIONAL

_MAX_LENGTH = {
    "name": 200,
    "email": 254,
    "title": 200,
    "group": 200,
    "district": 32,
    "district_name": 200,
    "province": 40,
    "party": 100,
    "language": 16,
    "do_not_email": 8,
    "postal_prefix": 20,
}
# Rows per query: SQLite's old builds allow 999 parameters.
CHUNK = 900


class ImportFailed(Exception):
    """The file has errors: nothing was written."""

    def __init__(self, errors: list[RowProblem]) -> None:
        super().__init__(_("%(count)d problem(s) found; nothing was imported.") % {"count": len(errors)})
        self.errors = errors


class InvalidRow(ValueError):
    """Every problem in one row, by column (the admin import shows them per cell)."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("invalid row")
        self.errors = errors


def cells(row: dict[str, Any], columns: Iterable[str], errors: dict[str, list[str]]) -> dict[str, str]:
    """The row's text cells, stripped, each checked for what no field may hold."""
    values: dict[str, str] = {}
    for column in columns:
        raw = row.get(column)
        value = "" if raw is None else str(raw)
        problem = text_problem(value, single_line=True)
        if problem:
            errors.setdefault(column, []).append(problem)
            values[column] = ""
            continue
        value = value.strip()
        if looks_like_formula(value):
            errors.setdefault(column, []).append(_("Looks like a spreadsheet formula: refused."))
            value = ""
        elif len(value) > _MAX_LENGTH[column]:
            errors.setdefault(column, []).append(_("Longer than %(max)d characters.") % {"max": _MAX_LENGTH[column]})
            value = ""
        values[column] = value
    return values


def header(reader: Any, *, required: tuple[str, ...], allowed: tuple[str, ...]) -> list[str]:
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFailed([RowProblem(0, "", _("The file is empty."))]) from None
    names = [str(name).strip().lower().lstrip("\ufeff") for name in header]
    problems = []
    missing = [column for column in required if column not in names]
    if missing:
        problems.append(RowProblem(1, "", _("Missing column(s): %(columns)s.") % {"columns": ", ".join(missing)}))
    unknown = [name for name in names if name not in allowed]
    if unknown:
        problems.append(
            RowProblem(
                1,
                "",
                _("Unknown column(s): %(unknown)s; allowed: %(allowed)s.")
                % {"unknown": ", ".join(repr(name[:40]) for name in unknown), "allowed": ", ".join(allowed)},
            )
        )
    if len(set(names)) != len(names):
        problems.append(RowProblem(1, "", _("A column appears twice in the header row.")))
    if problems:
        raise ImportFailed(problems)
    return names


def read_records(handle: Iterable[str], *, required: tuple[str, ...], allowed: tuple[str, ...]) -> Iterator[Any]:
    """(line, row) for each non-empty record, then raises ImportFailed for a file that is not CSV text."""
    reader = csv.reader(handle)
    try:
        names = header(reader, required=required, allowed=allowed)
        yield names
        while True:
            line = reader.line_num + 1  # where the record starts: a quoted cell may span lines
            cells = next(reader, None)
            if cells is None:
                return
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > len(names):
                yield line, None
                continue
            yield line, dict(zip(names, cells, strict=False))
    except UnicodeDecodeError:
        raise ImportFailed([RowProblem(0, "", _("The file is not UTF-8 text: save it as “CSV UTF-8”."))]) from None
    except csv.Error as bad:
        raise ImportFailed([RowProblem(0, "", _("Not a readable CSV file (%(error)s).") % {"error": bad})]) from None


def ensure_district(*, code: str, name: str = "", province: str = "") -> tuple[District, bool]:
    """The district with ``code``; a name or province given here replaces the stored one."""
    district, created = District.objects.get_or_create(code=code, defaults={"name": name, "province": province})
    changed = []
    if name and district.name != name:
        district.name = name
        changed.append("name")
    if province and district.province != province:
        district.province = province
        changed.append("province")
    if changed and not created:
        district.save(update_fields=changed)
    return district, created
