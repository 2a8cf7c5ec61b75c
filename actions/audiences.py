"""Campaign audiences by action: leave out the people who signed some actions, or address only them.

A campaign's ``ActedAudience`` names the actions. ``acted_sql`` is the
condition ``campaigns/sending/audience.py`` adds to the audience's WHERE
(registered with ``campaigns.sending.plugins`` in ``ActionsConfig.ready()``),
so the count shown before sending, the ledger's snapshot and the API's
``recipients`` agree. A person acted when a signature of theirs names their
subscriber row, or carries their address: someone who signed before they
subscribed (or through the API with their address) counts as that subscriber.
Each test is an ``EXISTS`` on an index: (action, email) is unique, and
signatures are indexed by subscriber.

The API's ``exclude_acted`` / ``only_acted`` (campaigns/api/options.py) and
the campaign form's inline (actions/admin/audiences.py) both write here.
"""

# The SQL here is built from model table names; every value is a parameter.
# ruff: noqa: S608
from __future__ import annotations

from typing import Any

from django.db import connection
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from actions.models import ActedAudience, Action, Signature
from campaigns.models import Campaign

FILTER_NAME = "actions.acted"


def chosen(campaign: Campaign) -> tuple[list[int], list[int]]:
    """(action ids to leave out the signers of, action ids whose signers alone get it)."""
    audience = ActedAudience.objects.filter(campaign_id=campaign.pk).first() if campaign.pk else None
    if audience is None:
        return [], []
    return (
        list(audience.exclude_acted.values_list("id", flat=True)),
        list(audience.only_acted.values_list("id", flat=True)),
    )


def _signed(alias: str, action_ids: list[int]) -> tuple[str, list[Any]]:
    table = connection.ops.quote_name(Signature._meta.db_table)
    marks = ", ".join(["%s"] * len(action_ids))
    sql = (
        f"(EXISTS (SELECT 1 FROM {table} sg WHERE sg.subscriber_id = {alias}.id AND sg.action_id IN ({marks}))"
        f" OR EXISTS (SELECT 1 FROM {table} sg WHERE sg.email = {alias}.email AND sg.action_id IN ({marks})))"
    )
    return sql, [*action_ids, *action_ids]


def acted_sql(campaign: Campaign, *, alias: str) -> tuple[str, list[Any]]:
    """The plugins.AudienceFilter: `` AND NOT (signed any excluded)`` and/or `` AND (signed any of the only)``."""
    exclude, only = chosen(campaign)
    sql, params = "", []
    if exclude:
        signed, values = _signed(alias, exclude)
        sql += f" AND NOT {signed}"
        params += values
    if only:
        signed, values = _signed(alias, only)
        sql += f" AND {signed}"
        params += values
    return sql, params


def audience_note(campaign: Campaign) -> str | None:
    """The send page's line: how many the action rules leave out, and which rules they are."""
    exclude, only = chosen(campaign)
    if not exclude and not only:
        return None
    from campaigns.sending.audience import count_left_out

    count = count_left_out(campaign, FILTER_NAME)
    titles = dict(Action.objects.filter(pk__in=[*exclude, *only]).values_list("pk", "title"))
    parts = []
    if exclude:
        parts.append(_("leaving out who signed: %(titles)s") % {"titles": "; ".join(titles[pk] for pk in exclude)})
    if only:
        parts.append(_("only who signed: %(titles)s") % {"titles": "; ".join(titles[pk] for pk in only)})
    return ngettext(
        "%(count)s person is left out by the audience by action (%(rules)s).",
        "%(count)s people are left out by the audience by action (%(rules)s).",
        count,
    ) % {"count": number_format(count, force_grouping=True), "rules": ", ".join(parts)}


# --- the API's exclude_acted / only_acted (campaigns/api/options.py) ------------------------------


def check_slugs(slugs: list[str]) -> list[str]:
    known = set(Action.objects.filter(slug__in=slugs).values_list("slug", flat=True))
    unknown = sorted(set(slugs) - known)
    return [_("No such action: %(slugs)s") % {"slugs": ", ".join(unknown)[:200]}] if unknown else []


def _save(campaign: Campaign, slugs: list[str], field: str) -> None:
    audience, _created = ActedAudience.objects.get_or_create(campaign=campaign)
    getattr(audience, field).add(*Action.objects.filter(slug__in=slugs))


def save_exclude(campaign: Campaign, slugs: list[str]) -> None:
    _save(campaign, slugs, "exclude_acted")


def save_only(campaign: Campaign, slugs: list[str]) -> None:
    _save(campaign, slugs, "only_acted")


def _read(campaign: Campaign, field: str) -> list[str]:
    audience = ActedAudience.objects.filter(campaign_id=campaign.pk).first()
    if audience is None:
        return []
    return list(getattr(audience, field).order_by("slug").values_list("slug", flat=True))


def read_exclude(campaign: Campaign) -> list[str]:
    return _read(campaign, "exclude_acted")


def read_only(campaign: Campaign) -> list[str]:
    return _read(campaign, "only_acted")
