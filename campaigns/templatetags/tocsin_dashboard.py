"""Report and dashboard helpers for the admin templates.

``{% tocsin_dashboard as dash %}``: the admin index's figures, for staff who may see campaigns.
``{{ rate|percent }}``: a 0..1 ratio as "13 %", rounded (small rates keep two decimals: 0.26 % matters).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django import template
from django.utils.formats import number_format

from campaigns.reports import dashboard

register = template.Library()


@register.simple_tag(takes_context=True)
def tocsin_dashboard(context: dict[str, Any]) -> dict[str, Any] | None:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.has_perm("campaigns.view_campaign"):
        return None
    return {
        "growth": dashboard.list_growth(),
        "campaigns": dashboard.last_campaigns(),
        "suppressions": dashboard.suppression_counts(),
        "health": dashboard.pipeline_health(),
    }


@register.filter
def percent(value: float | None) -> str:
    if value is None:
        return "\u2013"  # an en dash: no figure
    pct = Decimal(repr(float(value) * 100))
    decimals = 0 if pct >= 10 else 1 if pct >= 1 else 2
    # Rounded half up here: number_format alone cuts the extra digits off (12.96 -> "12").
    rounded = pct.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    # A non-breaking space: "0,00" at the end of a line and "%" alone on the next one read as two figures.
    return f"{number_format(rounded, decimals)}\u00a0%"
