"""Importing districts: each postal prefix named in the file has its rows replaced by the file's."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from actions.importing.rows import (
    CHUNK,
    DISTRICT_COLUMNS,
    DISTRICT_REQUIRED,
    ImportFailed,
    InvalidRow,
    cells,
    ensure_district,
    read_records,
)
from actions.models import District, PostalPrefix
from actions.postal import InvalidPostalCode, normalize_prefix
from subscribers.importing import RowProblem  # one report shape for every importer


@dataclass(frozen=True)
class ParsedPrefix:
    line: int
    prefix: str
    district_code: str
    district_name: str
    province: str


def parse_district_row(line: int, row: dict[str, Any], *, columns: Iterable[str] = DISTRICT_COLUMNS) -> ParsedPrefix:
    present = [column for column in DISTRICT_COLUMNS if column in set(columns)]
    errors: dict[str, list[str]] = {}
    values = cells(row, present, errors)
    prefix = ""
    if "postal_prefix" not in errors:
        try:
            prefix = normalize_prefix(values["postal_prefix"])
        except InvalidPostalCode as bad:
            errors["postal_prefix"] = [bad.message]
    if not values.get("district") and "district" not in errors:
        errors["district"] = [_("Missing.")]
    if errors:
        raise InvalidRow(errors)
    return ParsedPrefix(
        line=line,
        prefix=prefix,
        district_code=values["district"],
        district_name=values.get("district_name", ""),
        province=values.get("province", ""),
    )


@dataclass
class DistrictImportResult:
    prefixes: int = 0
    rows: int = 0
    replaced: int = 0
    districts_created: int = 0
    duplicates: list[RowProblem] = field(default_factory=list)
    parsed: list[ParsedPrefix] = field(default_factory=list)

    def summary(self) -> str:
        return _(
            "%(rows)d postal prefix row(s) for %(prefixes)d prefix(es) (%(replaced)d old row(s) replaced); "
            "%(districts)d new district(s); %(duplicates)d duplicate row(s) skipped."
        ) % {
            "rows": self.rows,
            "prefixes": self.prefixes,
            "replaced": self.replaced,
            "districts": self.districts_created,
            "duplicates": len(self.duplicates),
        }


def check_districts(handle: Iterable[str]) -> DistrictImportResult:
    records = read_records(handle, required=DISTRICT_REQUIRED, allowed=DISTRICT_COLUMNS)
    columns: list[str] = next(records)
    errors: list[RowProblem] = []
    result = DistrictImportResult()
    seen: dict[tuple[str, str], int] = {}
    names: dict[str, tuple[str, int]] = {}
    for line, row in records:
        if row is None:
            errors.append(RowProblem(line, "", _("More cells than columns.")))
            continue
        try:
            parsed = parse_district_row(line, row, columns=columns)
        except InvalidRow as bad:
            errors.extend(RowProblem(line, column, " ".join(messages)) for column, messages in bad.errors.items())
            continue
        key = (parsed.prefix, parsed.district_code)
        if key in seen:
            result.duplicates.append(
                RowProblem(line, "postal_prefix", _("Same as line %(line)d: skipped.") % {"line": seen[key]})
            )
            continue
        seen[key] = line
        if parsed.district_name:
            earlier = names.setdefault(parsed.district_code, (parsed.district_name, line))
            if earlier[0] != parsed.district_name:
                errors.append(
                    RowProblem(
                        line,
                        "district_name",
                        _("District %(code)s is named “%(name)s” on line %(line)d.")
                        % {"code": parsed.district_code, "name": earlier[0], "line": earlier[1]},
                    )
                )
                continue
        result.parsed.append(parsed)
    if errors:
        raise ImportFailed(errors)
    if not result.parsed:
        raise ImportFailed([RowProblem(0, "", _("The file has a header but no rows."))])
    result.rows = len(result.parsed)
    result.prefixes = len({parsed.prefix for parsed in result.parsed})
    return result


def import_districts(handle: Iterable[str], *, dry_run: bool = False) -> DistrictImportResult:
    """Check the file, then replace the rows of every prefix it names, in one transaction."""
    result = check_districts(handle)
    if dry_run:
        return result
    with transaction.atomic():
        districts: dict[str, District] = {}
        for parsed in result.parsed:
            district, created = ensure_district(
                code=parsed.district_code, name=parsed.district_name, province=parsed.province
            )
            districts[parsed.district_code] = district
            result.districts_created += created
        prefixes = sorted({parsed.prefix for parsed in result.parsed})
        for start in range(0, len(prefixes), CHUNK):
            deleted, _detail = PostalPrefix.objects.filter(prefix__in=prefixes[start : start + CHUNK]).delete()
            result.replaced += deleted
        PostalPrefix.objects.bulk_create(
            [PostalPrefix(prefix=parsed.prefix, district=districts[parsed.district_code]) for parsed in result.parsed],
            batch_size=500,
        )
    return result
