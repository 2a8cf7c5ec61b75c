"""CSV cells a spreadsheet would run as a formula when the file is opened (CSV injection).

Every importer refuses such a cell (its per-row report says why) and every
export writes it with a leading quote, so the spreadsheet shows it as text.
They all ask here, so they cannot disagree about what a formula looks like.
"""

from __future__ import annotations

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def looks_like_formula(value: str) -> bool:
    return value.startswith(FORMULA_PREFIXES)


def neutralise_cell(value: object) -> str:
    """The cell as a spreadsheet shows it as text: a formula-looking value gets a leading quote."""
    text = "" if value is None else str(value)
    return "'" + text if looks_like_formula(text) else text
