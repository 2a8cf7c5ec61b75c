"""CSV imports of targets and districts: ``manage.py import_targets``, ``import_districts`` and the admin.

Both are all-or-nothing: every row is checked first, and one bad row means
a per-row report (``RowProblem``, the shape every importer uses) and
nothing written. Text is checked by ``subscribers.text`` (NUL, control
characters, lone surrogates) and cells a spreadsheet would run as a formula
are refused: this data travels into letters and exports.

Targets (columns ``name``, ``email``; optional ``title``, ``group``,
``district``, ``district_name``, ``province``, ``party``, ``language``,
``do_not_email``): a re-import updates each target found by ``email``. An
optional column left out of the file leaves that field as it is; a column
present with an empty cell empties it. ``group`` names one or more groups
(``mps``, or ``mps;ministers``) the target is added to; a target leaves a
group only by a staff member's hand in the admin, so importing the
ministers' file never takes a minister out of ``mps``.

Districts (columns ``postal_prefix``, ``district``; optional
``district_name``, ``province``): each prefix named in the file has its
rows replaced by the file's; prefixes the file does not name are kept.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from actions.models import District, PostalPrefix, Target, TargetGroup
from actions.postal import InvalidPostalCode, normalize_prefix
from subscribers.importing import RowProblem  # one report shape for every importer
from subscribers.models import Language, normalize_email
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
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0", ""}
_CHUNK = 900
_validate_email = EmailValidator()


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


def _cells(row: dict[str, Any], columns: Iterable[str], errors: dict[str, list[str]]) -> dict[str, str]:
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


# --- targets -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedTarget:
    line: int
    email: str
    name: str
    # Only the optional columns the file has: the others stay as they are.
    fields: dict[str, Any]
    groups: tuple[str, ...]
    district_code: str
    district_name: str


def _language(value: str) -> str:
    code = value.strip().lower().replace("_", "-").split("-")[0]
    if code not in Language.values:
        raise ValueError(_("Write one of: %(codes)s.") % {"codes": ", ".join(Language.values)})
    return code


def parse_target_row(line: int, row: dict[str, Any], *, columns: Iterable[str] = TARGET_COLUMNS) -> ParsedTarget:
    """One CSV row as a target, or ``InvalidRow`` with every problem in it."""
    present = [column for column in TARGET_COLUMNS if column in set(columns)]
    errors: dict[str, list[str]] = {}
    values = _cells(row, present, errors)
    email = normalize_email(values.get("email", ""))
    if "email" not in errors:
        try:
            if not email:
                raise ValidationError("empty")
            _validate_email(email)
        except ValidationError:
            errors["email"] = [_("Not a valid email address.")]
    if not values.get("name") and "name" not in errors:
        errors["name"] = [_("Missing.")]
    groups: list[str] = []
    for part in values.get("group", "").replace(";", ",").split(","):
        if not part.strip():
            continue
        slug = slugify(part.strip())
        if not slug or slug != part.strip().lower():
            errors.setdefault("group", []).append(
                _("Write a group as a short name of letters, digits and hyphens, like mps.")
            )
            break
        groups.append(slug[:60])
    fields: dict[str, Any] = {}
    for column in ("title", "province", "party"):
        if column in present:
            fields[column] = values[column]
    if "language" in present:
        try:
            fields["language"] = _language(values["language"]) if values["language"] else ""
        except ValueError as problem:
            errors.setdefault("language", []).append(str(problem))
    if "do_not_email" in present:
        flag = values["do_not_email"].lower()
        if flag not in _TRUE | _FALSE:
            errors.setdefault("do_not_email", []).append(_("Write true or false."))
        fields["do_not_email"] = flag in _TRUE
    district_code = values.get("district", "")
    district_name = values.get("district_name", "")
    if district_name and not district_code and "district" not in errors:
        errors.setdefault("district_name", []).append(_("A district name needs its district code too."))
    if errors:
        raise InvalidRow(errors)
    return ParsedTarget(
        line=line,
        email=email,
        name=" ".join(values["name"].split()),
        fields=fields,
        groups=tuple(dict.fromkeys(groups)),
        district_code=district_code,
        district_name=district_name,
    )


@dataclass
class TargetImportResult:
    created: int = 0
    updated: int = 0
    districts_created: int = 0
    groups_created: int = 0
    targets: list[ParsedTarget] = field(default_factory=list)

    def summary(self) -> str:
        return _(
            "%(created)d new target(s), %(updated)d updated; %(districts)d new district(s), %(groups)d new group(s)."
        ) % {
            "created": self.created,
            "updated": self.updated,
            "districts": self.districts_created,
            "groups": self.groups_created,
        }


def _header(reader: Any, *, required: tuple[str, ...], allowed: tuple[str, ...]) -> list[str]:
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


def _records(handle: Iterable[str], *, required: tuple[str, ...], allowed: tuple[str, ...]) -> Iterator[Any]:
    """(line, row) for each non-empty record, then raises ImportFailed for a file that is not CSV text."""
    reader = csv.reader(handle)
    try:
        names = _header(reader, required=required, allowed=allowed)
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


def check_targets(handle: Iterable[str]) -> tuple[list[str], list[ParsedTarget]]:
    """Read and check the whole file, writing nothing; ``ImportFailed`` on any bad row."""
    records = _records(handle, required=TARGET_REQUIRED, allowed=TARGET_COLUMNS)
    columns: list[str] = next(records)
    errors: list[RowProblem] = []
    targets: list[ParsedTarget] = []
    seen: dict[str, int] = {}
    district_names: dict[str, tuple[str, int]] = {}
    for line, row in records:
        if row is None:
            errors.append(RowProblem(line, "", _("More cells than columns.")))
            continue
        try:
            target = parse_target_row(line, row, columns=columns)
        except InvalidRow as bad:
            errors.extend(RowProblem(line, column, " ".join(messages)) for column, messages in bad.errors.items())
            continue
        if target.email in seen:
            errors.append(
                RowProblem(
                    line,
                    "email",
                    _("Same address as line %(line)d: one row per target (list several groups as mps;ministers).")
                    % {"line": seen[target.email]},
                )
            )
            continue
        seen[target.email] = line
        if target.district_name:
            earlier = district_names.setdefault(target.district_code, (target.district_name, line))
            if earlier[0] != target.district_name:
                errors.append(
                    RowProblem(
                        line,
                        "district_name",
                        _("District %(code)s is named “%(name)s” on line %(line)d.")
                        % {"code": target.district_code, "name": earlier[0], "line": earlier[1]},
                    )
                )
                continue
        targets.append(target)
    if errors:
        raise ImportFailed(errors)
    if not targets:
        raise ImportFailed([RowProblem(0, "", _("The file has a header but no rows."))])
    return columns, targets


def ensure_groups(slugs: Iterable[str]) -> tuple[dict[str, TargetGroup], int]:
    """The groups named, created when missing (their display name is the short name until staff change it)."""
    wanted = sorted(set(slugs))
    found = {group.slug: group for group in TargetGroup.objects.filter(slug__in=wanted)}
    created = 0
    for slug in wanted:
        if slug not in found:
            found[slug] = TargetGroup.objects.create(slug=slug, name=slug)
            created += 1
    return found, created


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


def import_targets(handle: Iterable[str], *, dry_run: bool = False) -> TargetImportResult:
    """Check the file, then create or update every target in one transaction (nothing on any bad row)."""
    columns, targets = check_targets(handle)
    result = TargetImportResult(targets=targets)
    if dry_run:
        return result
    with transaction.atomic():
        groups, result.groups_created = ensure_groups(slug for target in targets for slug in target.groups)
        districts: dict[str, District] = {}
        for target in targets:
            if not target.district_code:
                continue
            province = target.fields.get("province", "") if target.district_code not in districts else ""
            district, created = ensure_district(code=target.district_code, name=target.district_name, province=province)
            districts[target.district_code] = district
            result.districts_created += created
        emails = [target.email for target in targets]
        existing: dict[str, Target] = {}
        for start in range(0, len(emails), _CHUNK):
            chunk = emails[start : start + _CHUNK]
            existing.update((row.email, row) for row in Target.objects.select_for_update().filter(email__in=chunk))
        memberships: list[Any] = []
        for parsed in targets:
            row = existing.get(parsed.email)
            if row is None:
                row = Target(email=parsed.email)
                result.created += 1
            else:
                result.updated += 1
            row.name = parsed.name
            for name, value in parsed.fields.items():
                setattr(row, name, value)
            if parsed.district_code:
                row.district = districts[parsed.district_code]
            elif "district" in columns:
                row.district = None
            row.save()
            memberships.extend(
                Target.groups.through(target_id=row.pk, targetgroup_id=groups[slug].pk) for slug in parsed.groups
            )
        Target.groups.through.objects.bulk_create(memberships, ignore_conflicts=True)
    return result


# --- districts -------------------------------------------------------------------------------


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
    values = _cells(row, present, errors)
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
    records = _records(handle, required=DISTRICT_REQUIRED, allowed=DISTRICT_COLUMNS)
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
        for start in range(0, len(prefixes), _CHUNK):
            deleted, _detail = PostalPrefix.objects.filter(prefix__in=prefixes[start : start + _CHUNK]).delete()
            result.replaced += deleted
        PostalPrefix.objects.bulk_create(
            [PostalPrefix(prefix=parsed.prefix, district=districts[parsed.district_code]) for parsed in result.parsed],
            batch_size=500,
        )
    return result
