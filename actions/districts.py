"""From a postal code to the supporter's district.

The longest stored prefix that the code starts with wins (a whole code beats
its FSA). When that prefix lies in several districts, or no prefix matches
at all, the supporter chooses from a short list: a letter must never go to
the wrong person because we guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Q

from actions.models import District, PostalPrefix
from actions.postal import compact_postal_code, prefixes_of
from config import rows

FOUND = "found"
AMBIGUOUS = "ambiguous"
UNKNOWN = "unknown"
# Fewer districts than this among codes sharing two characters: widen the
# list offered to those sharing the first letter (roughly the province).
_SHORT_LIST_MINIMUM = 3


@dataclass(frozen=True)
class DistrictMatch:
    outcome: str  # found, ambiguous or unknown
    district: District | None = None
    # What the supporter may choose from when the outcome is not "found".
    choices: list[District] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return self.outcome == FOUND


def _districts_with_prefixes_starting(start: str) -> list[District]:
    return list(District.objects.filter(postal_prefixes__prefix__startswith=start).distinct().order_by("name", "code"))


def nearby_districts(postal_code: str) -> list[District]:
    """Districts near a code no prefix matches: same two first characters, else same first letter, else all."""
    compact = compact_postal_code(postal_code)
    two = _districts_with_prefixes_starting(compact[:2])
    if len(two) >= _SHORT_LIST_MINIMUM:
        return two
    one = _districts_with_prefixes_starting(compact[:1])
    if one:
        return one
    return list(District.objects.order_by("name", "code"))


def _districts_matching(candidates: list[str]) -> list[District]:
    """Each district with the prefix it matched by (a district may match by several), in one query.

    Written as SQL: every signature with a postal code asks, and the ORM took
    longer to compile the join than the database to answer it.
    """
    if not candidates:
        return []
    quote = connection.ops.quote_name
    # Names from the models; values as parameters.
    sql = (
        f"SELECT {rows.columns(District, 'd')}, p.prefix FROM {quote(District._meta.db_table)} d"  # noqa: S608
        f" JOIN {quote(PostalPrefix._meta.db_table)} p ON p.district_id = d.id"
        f" WHERE p.prefix IN ({', '.join(['%s'] * len(candidates))}) ORDER BY d.name, d.code"
    )
    return rows.instances(District, sql, candidates, extra=["matched"])


def find_district(postal_code: str) -> DistrictMatch:
    """The district of a normalised postal code, or what the supporter may choose from."""
    found = _districts_matching(prefixes_of(postal_code))
    if not found:
        return DistrictMatch(outcome=UNKNOWN, choices=nearby_districts(postal_code))
    longest = max(len(district.matched) for district in found)  # type: ignore[attr-defined]
    matching = {d.pk: d for d in found if len(d.matched) == longest}  # type: ignore[attr-defined]
    districts: list[District] = list(matching.values())
    if len(districts) == 1:
        return DistrictMatch(outcome=FOUND, district=districts[0])
    return DistrictMatch(outcome=AMBIGUOUS, choices=districts)


def allowed_choice(match: DistrictMatch, postal_code: str, code: str) -> District | None:
    """The district the supporter chose, if it is one they may choose for this code.

    For an ambiguous prefix: one of its districts. For an unknown code: any
    district in the same region (first letter), or any district at all when
    none is known there — the list shown is only the nearest few.
    """
    if match.found:
        return match.district if match.district and match.district.code == code else None
    if match.outcome == AMBIGUOUS:
        return next((district for district in match.choices if district.code == code), None)
    district = District.objects.filter(code=code).first()
    if district is None:
        return None
    compact = compact_postal_code(postal_code)
    region_known = PostalPrefix.objects.filter(prefix__startswith=compact[:1]).exists()
    if not region_known:
        return district
    in_region = district.postal_prefixes.filter(Q(prefix__startswith=compact[:1])).exists()
    return district if in_region else None
