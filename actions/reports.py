"""What an action achieved: signatures over time, by district and province, subscribers gained, letters per target.

Read by the admin's report page and its CSV export (actions/admin/reports.py).
Erased signatures still count (erasure keeps the counts); only their
personal data is gone, and none of it appears here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db.models import Count, F, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from actions.models import Action, Letter, Signature
from actions.sending import claims
from subscribers.models import Subscriber

# Days on the chart: the most recent ones when an action runs longer.
MAX_DAYS = 90


@dataclass
class ActionReport:
    action: Action
    total: int
    days: list[tuple[date, int]]
    by_province: list[tuple[str, int]]
    by_district: list[dict[str, Any]]
    new_subscribers: int
    awaiting_confirmation: int
    by_source: list[tuple[str, int]]
    letters: list[dict[str, Any]] = field(default_factory=list)

    @property
    def letter_totals(self) -> dict[str, int]:
        totals = {"sent": 0, "failed": 0, "pending": 0, "unknown": 0, "by_hand": 0}
        for row in self.letters:
            for key in totals:
                totals[key] += row[key]
        return totals

    def figures(self) -> list[tuple[str, int]]:
        """(name, value) for the CSV, in display order."""
        return [
            ("signatures", self.total),
            ("new_subscribers", self.new_subscribers),
            ("awaiting_confirmation", self.awaiting_confirmation),
            *((f"letters_{key}", value) for key, value in self.letter_totals.items()),
        ]


def _days(action: Action) -> list[tuple[date, int]]:
    rows = (
        Signature.objects.filter(action=action)
        .annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(n=Count("id"))
        .order_by("day")
    )
    counted = {row["day"]: row["n"] for row in rows}
    if not counted:
        return []
    last = max(max(counted), timezone.localdate())
    first = max(min(counted), last - timedelta(days=MAX_DAYS - 1))
    return [
        (first + timedelta(days=n), counted.get(first + timedelta(days=n), 0)) for n in range((last - first).days + 1)
    ]


def _by_district(action: Action) -> list[dict[str, Any]]:
    rows = (
        Signature.objects.filter(action=action)
        .values("district__code", "district__name", "district__province")
        .annotate(n=Count("id"))
        .order_by("-n", "district__name")
    )
    return [
        {
            "code": row["district__code"] or "",
            "name": row["district__name"] or "",
            "province": row["district__province"] or "",
            "count": row["n"],
        }
        for row in rows
    ]


def _by_province(districts: list[dict[str, Any]]) -> list[tuple[str, int]]:
    provinces: dict[str, int] = {}
    for row in districts:
        provinces[row["province"]] = provinces.get(row["province"], 0) + row["count"]
    return sorted(provinces.items(), key=lambda item: (-item[1], item[0]))


def _subscribers_gained(action: Action) -> tuple[int, int]:
    """(confirmed, still pending) people who became subscribers by ticking a list on this action."""
    # The opt-in made them: their subscriber row is no older than their signature.
    gained = Signature.objects.filter(
        action=action, consent__isnull=False, subscriber__created_at__gte=F("created_at")
    ).aggregate(
        confirmed=Count("subscriber", distinct=True, filter=Q(subscriber__status=Subscriber.Status.CONFIRMED)),
        pending=Count("subscriber", distinct=True, filter=Q(subscriber__status=Subscriber.Status.PENDING)),
    )
    return int(gained["confirmed"] or 0), int(gained["pending"] or 0)


def _failure_reasons(action: Action, *, most: int = 3) -> dict[int, list[tuple[str, int]]]:
    """Per target, why its letters failed: the commonest reasons (a bounce's diagnostic, a refusal), with counts."""
    rows = (
        Letter.objects.filter(action=action, status=Letter.Status.FAILED)
        .values("target_id", "error")
        .annotate(n=Count("id"))
        .order_by("target_id", "-n", "error")
    )
    reasons: dict[int, list[tuple[str, int]]] = {}
    for row in rows:
        kept = reasons.setdefault(row["target_id"], [])
        if len(kept) < most:
            kept.append((row["error"] or "—", int(row["n"])))
    return reasons


def _letters(action: Action) -> list[dict[str, Any]]:
    L = Letter.Status
    reasons = _failure_reasons(action)
    rows = (
        Letter.objects.filter(action=action)
        .values(
            "target_id",
            "target__name",
            "target__title",
            "target__email",
            "target__district__name",
            "target__bouncing_since",
            "target__bounce_reason",
        )
        .annotate(
            sent=Count("id", filter=Q(status=L.SENT)),
            failed=Count("id", filter=Q(status=L.FAILED)),
            pending=Count("id", filter=Q(status__in=[L.PENDING, L.SENDING])),
            unknown=Count("id", filter=Q(status=L.UNKNOWN)),
            by_hand=Count("id", filter=Q(status=L.BY_HAND)),
            **claims.waiting_for_tomorrow(),
        )
        .order_by("target__name", "target_id")
    )
    return [
        {
            "target": row["target__name"],
            "title": row["target__title"],
            "email": row["target__email"],
            "district": row["target__district__name"] or "",
            "bouncing_since": row["target__bouncing_since"],
            "bounce_reason": row["target__bounce_reason"],
            "failure_reasons": reasons.get(row["target_id"], []),
            **{key: row[key] for key in ("sent", "failed", "pending", "unknown", "by_hand")},
            "waiting_overall_cap": row["waiting_overall_cap"],
            "waiting_action_cap": row["waiting_action_cap"],
            "overall_limit": claims.overall_cap(),
        }
        for row in rows
    ]


def action_report(action: Action) -> ActionReport:
    districts = _by_district(action)
    confirmed, pending = _subscribers_gained(action)
    sources = Signature.objects.filter(action=action).values("source").annotate(n=Count("id")).order_by("-n")
    return ActionReport(
        action=action,
        total=sum(row["count"] for row in districts),
        days=_days(action),
        by_province=_by_province(districts),
        by_district=districts,
        new_subscribers=confirmed,
        awaiting_confirmation=pending,
        by_source=[(row["source"], row["n"]) for row in sources],
        letters=_letters(action) if action.is_letter else [],
    )
