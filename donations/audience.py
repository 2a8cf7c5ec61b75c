"""Who an appeal leaves out, as SQL the audience count and the snapshot both run.

Each rule is an ``EXISTS`` over the donations table keyed on the subscriber
(index ``donation_subscriber_time``), so counting an audience stays one
``SELECT COUNT(*)`` however many donors there are. The same rules come in two
shapes: queryset filters (``apply_donor_rules``) for ORM code, and a raw SQL
fragment (``donor_rules_sql``) for ``campaigns/sending/audience.py``, which builds
its audience in plain SQL; the tests check both give the same counts.

Rules (``Campaign.donor_rule``, with ``exclude_donors_days`` as N):
- all: everyone; if N is set, people who gave in the last N days are left
  out (the API's ``exclude_donors_days`` works on its own);
- exclude_recent: leave out people who gave in the last N days (default 90);
- lapsed: only people who gave before but not in the last N days (default 365);
- never: only people who never gave.
Monthly donors (a recurring gift in the last ``RECURRING_ACTIVE_DAYS``) are
always left out of appeals: asking someone who already gives every month for
a one-off gift is how organisations lose monthly donors.
"""

# The SQL here is built from model table/column names; every value is a parameter.
# ruff: noqa: S608
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import ngettext

from campaigns.models import Campaign
from donations.models import Donation

ALL = "all"
EXCLUDE_RECENT = "exclude_recent"
LAPSED = "lapsed"
NEVER = "never"
DEFAULT_RECENT_DAYS = 90
DEFAULT_LAPSED_DAYS = 365
# Monthly gifts come every ~31 days; a donor whose last one is older than
# this has stopped (card expired, cancelled) and may be asked again.
RECURRING_ACTIVE_DAYS = 45


def _since(days: int) -> datetime:
    return timezone.now() - timedelta(days=days)


# --- queryset filters (expressions over the subscriber's id) ----------------------


def gave_since(days: int | None = None, *, recurring: bool | None = None, ref: str = "pk") -> Exists:
    """``Exists``: the subscriber gave (in the last ``days`` days, if given)."""
    gifts = Donation.objects.filter(subscriber_id=OuterRef(ref))
    if days is not None:
        gifts = gifts.filter(donated_at__gte=_since(days))
    if recurring is not None:
        gifts = gifts.filter(recurring=recurring)
    return Exists(gifts)


def exclude_recent_donors(days: int, *, ref: str = "pk") -> Q:
    return ~Q(gave_since(days, ref=ref))


def only_lapsed_donors(days: int, *, ref: str = "pk") -> Q:
    return Q(gave_since(ref=ref)) & ~Q(gave_since(days, ref=ref))


def only_never_donors(*, ref: str = "pk") -> Q:
    return ~Q(gave_since(ref=ref))


def exclude_monthly_donors(*, ref: str = "pk") -> Q:
    return ~Q(gave_since(RECURRING_ACTIVE_DAYS, recurring=True, ref=ref))


def _rules(campaign: Campaign) -> list[tuple[str, int | None]]:
    """The campaign's donor rules as (kind, days) pairs, in one place for both shapes."""
    rule = getattr(campaign, "donor_rule", ALL) or ALL
    days = campaign.exclude_donors_days
    rules: list[tuple[str, int | None]] = []
    if rule == LAPSED:
        rules.append((LAPSED, days or DEFAULT_LAPSED_DAYS))
    elif rule == NEVER:
        rules.append((NEVER, None))
    elif rule == EXCLUDE_RECENT or days:
        rules.append((EXCLUDE_RECENT, days or DEFAULT_RECENT_DAYS))
    if campaign.kind == Campaign.Kind.APPEAL:
        rules.append(("monthly", None))
    return rules


def donor_rules_q(campaign: Campaign, *, ref: str = "pk") -> Q:
    """One ``Q`` with every donor rule of ``campaign`` (empty ``Q()`` when none applies)."""
    condition = Q()
    for kind, days in _rules(campaign):
        if kind == LAPSED:
            condition &= only_lapsed_donors(days or DEFAULT_LAPSED_DAYS, ref=ref)
        elif kind == NEVER:
            condition &= only_never_donors(ref=ref)
        elif kind == EXCLUDE_RECENT:
            condition &= exclude_recent_donors(days or DEFAULT_RECENT_DAYS, ref=ref)
        else:
            condition &= exclude_monthly_donors(ref=ref)
    return condition


def apply_donor_rules(subscriber_queryset: QuerySet[Any], campaign: Campaign) -> QuerySet[Any]:
    """``subscriber_queryset`` without the people ``campaign``'s donor rules leave out."""
    return subscriber_queryset.filter(donor_rules_q(campaign))


# --- raw SQL (campaigns/sending/audience.py) ----------------------------------------------


def donor_rules_sql(campaign: Campaign, *, alias: str = "s") -> tuple[str, list[Any]]:
    """``" AND …"`` conditions on subscriber rows aliased ``alias``, and their parameters."""
    table = connection.ops.quote_name(Donation._meta.db_table)
    subscriber = Donation._meta.get_field("subscriber").column
    donated_at = Donation._meta.get_field("donated_at").column
    recurring = Donation._meta.get_field("recurring").column

    def exists(extra: str = "") -> str:
        return f"EXISTS (SELECT 1 FROM {table} d WHERE d.{subscriber} = {alias}.id{extra})"

    sql = ""
    params: list[Any] = []
    for kind, days in _rules(campaign):
        if kind == LAPSED:
            sql += f" AND {exists()} AND NOT {exists(f' AND d.{donated_at} >= %s')}"
            params.append(_since(days or DEFAULT_LAPSED_DAYS))
        elif kind == NEVER:
            sql += f" AND NOT {exists()}"
        elif kind == EXCLUDE_RECENT:
            sql += f" AND NOT {exists(f' AND d.{donated_at} >= %s')}"
            params.append(_since(days or DEFAULT_RECENT_DAYS))
        else:
            sql += f" AND NOT {exists(f' AND d.{recurring} = %s AND d.{donated_at} >= %s')}"
            params += [True, _since(RECURRING_ACTIVE_DAYS)]
    return sql, params


def left_out_note(campaign: Campaign) -> str | None:
    """The send page's line on how many people the donor rules leave out (None when no rule applies)."""
    if not _rules(campaign):
        return None
    from campaigns.sending.audience import count_left_out

    count = count_left_out(campaign, FILTER_NAME)
    return ngettext(
        "%(count)s person is left out by the donor rules.",
        "%(count)s people are left out by the donor rules.",
        count,
    ) % {"count": number_format(count, force_grouping=True)}


FILTER_NAME = "donations.donor_rules"
