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

from actions.importing.districts import (
    DistrictImportResult,
    ParsedPrefix,
    check_districts,
    import_districts,
    parse_district_row,
)
from actions.importing.rows import (
    DISTRICT_COLUMNS,
    DISTRICT_REQUIRED,
    TARGET_COLUMNS,
    TARGET_REQUIRED,
    ImportFailed,
    InvalidRow,
    ensure_district,
)
from actions.importing.targets import (
    ParsedTarget,
    TargetImportResult,
    check_targets,
    ensure_groups,
    import_targets,
    parse_target_row,
)

__all__ = [
    "DISTRICT_COLUMNS",
    "DISTRICT_REQUIRED",
    "TARGET_COLUMNS",
    "TARGET_REQUIRED",
    "DistrictImportResult",
    "ImportFailed",
    "InvalidRow",
    "ParsedPrefix",
    "ParsedTarget",
    "TargetImportResult",
    "check_districts",
    "check_targets",
    "ensure_district",
    "ensure_groups",
    "import_districts",
    "import_targets",
    "parse_district_row",
    "parse_target_row",
]
