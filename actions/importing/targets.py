"""Importing targets: each found by its address, created or updated; groups only ever added."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from actions.importing.rows import (
    CHUNK,
    TARGET_COLUMNS,
    TARGET_REQUIRED,
    ImportFailed,
    InvalidRow,
    cells,
    ensure_district,
    read_records,
)
from actions.models import District, Target, TargetGroup
from subscribers.importing import RowProblem  # one report shape for every importer
from subscribers.models import Language, normalize_email

_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0", ""}
_validate_email = EmailValidator()


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


def _email(values: dict[str, str], errors: dict[str, list[str]]) -> str:
    email = normalize_email(values.get("email", ""))
    if "email" not in errors:
        try:
            if not email:
                raise ValidationError("empty")
            _validate_email(email)
        except ValidationError:
            errors["email"] = [_("Not a valid email address.")]
    return email


def _groups(value: str, errors: dict[str, list[str]]) -> tuple[str, ...]:
    """The group slugs named in a cell (``mps`` or ``mps;ministers``)."""
    groups: list[str] = []
    for part in value.replace(";", ",").split(","):
        if not part.strip():
            continue
        slug = slugify(part.strip())
        if not slug or slug != part.strip().lower():
            errors.setdefault("group", []).append(
                _("Write a group as a short name of letters, digits and hyphens, like mps.")
            )
            break
        groups.append(slug[:60])
    return tuple(dict.fromkeys(groups))


def _optional_fields(values: dict[str, str], present: list[str], errors: dict[str, list[str]]) -> dict[str, Any]:
    """The optional columns the file has, as the target's fields: the others stay as they are."""
    fields: dict[str, Any] = {column: values[column] for column in ("title", "province", "party") if column in present}
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
    return fields


def parse_target_row(line: int, row: dict[str, Any], *, columns: Iterable[str] = TARGET_COLUMNS) -> ParsedTarget:
    """One CSV row as a target, or ``InvalidRow`` with every problem in it."""
    present = [column for column in TARGET_COLUMNS if column in set(columns)]
    errors: dict[str, list[str]] = {}
    values = cells(row, present, errors)
    email = _email(values, errors)
    if not values.get("name") and "name" not in errors:
        errors["name"] = [_("Missing.")]
    groups = _groups(values.get("group", ""), errors)
    fields = _optional_fields(values, present, errors)
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
        groups=groups,
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


def check_targets(handle: Iterable[str]) -> tuple[list[str], list[ParsedTarget]]:
    """Read and check the whole file, writing nothing; ``ImportFailed`` on any bad row."""
    records = read_records(handle, required=TARGET_REQUIRED, allowed=TARGET_COLUMNS)
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
        for start in range(0, len(emails), CHUNK):
            chunk = emails[start : start + CHUNK]
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
