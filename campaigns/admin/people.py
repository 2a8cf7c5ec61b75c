"""What campaigns shows on a supporter's admin page: the emails they received.

Added to ``subscribers.admin.people.person_facts`` in ``CampaignsConfig.ready()``:
the subscribers admin lists it without importing campaigns.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib import admin
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from campaigns.models import Delivery, PersonEngagement
from subscribers.models import Subscriber


@admin.display(description=_("Campaigns received (latest 50)"))
def campaigns_received(obj: Subscriber) -> str:
    deliveries = (
        Delivery.objects.filter(subscriber=obj)
        .select_related("campaign")
        .prefetch_related("events")
        .order_by("-pk")[:50]
    )
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                delivery.campaign.subject,
                delivery.get_status_display(),
                delivery.sent_at.strftime("%Y-%m-%d %H:%M") if delivery.sent_at else "—",
                ", ".join(sorted({event.get_kind_display() for event in delivery.events.all()})) or "—",
            )
            for delivery in deliveries
        ),
    )
    earlier = _rolled_up(obj)
    if not rows:
        return earlier or str(_("None yet."))
    return format_html(
        "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>{}",
        _("Campaign"),
        _("Delivery"),
        _("Sent"),
        _("Events"),
        rows,
        earlier,
    )


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d") if moment else "—"


def _rolled_up(obj: Subscriber) -> str:
    """Older campaigns, whose rows were rolled up (campaigns/rollup/): how many, and the latest of each."""
    engagement = PersonEngagement.objects.filter(subscriber=obj).first()
    if engagement is None:
        return ""
    return format_html(
        "<p>{}</p>",
        _(
            "Earlier campaigns (rolled up): %(count)s received, the last on %(received)s; "
            "last opened %(opened)s, last clicked %(clicked)s."
        )
        % {
            "count": engagement.campaigns_received,
            "received": _when(engagement.last_received_at),
            "opened": _when(engagement.last_opened_at),
            "clicked": _when(engagement.last_clicked_at),
        },
    )
