"""What campaigns shows on a supporter's admin page: the emails they received.

Added to ``subscribers.admin.people.person_facts`` in ``CampaignsConfig.ready()``:
the subscribers admin lists it without importing campaigns.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from campaigns.models import Delivery, PersonEngagement, RolledUpProblem
from subscribers.models import Subscriber

# On a phone the admin's field column is narrower than four columns: the table scrolls rather than spilling out.
SCROLLS = '<div style="overflow-x: auto; max-width: 100%">'


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
                _moment(delivery.sent_at),
                ", ".join(sorted({event.get_kind_display() for event in delivery.events.all()})) or "—",
            )
            for delivery in deliveries
        ),
    )
    earlier = format_html("{}{}", _rolled_up(obj), _rolled_up_problems(obj))
    if not rows:
        return earlier or str(_("None yet."))
    return format_html(
        SCROLLS + "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>"
        "<tbody>{}</tbody></table></div>{}",
        _("Campaign"),
        _("Delivery"),
        _("Sent"),
        _("Events"),
        rows,
        earlier,
    )


def _moment(moment: datetime | None) -> str:
    # In the organisation's time zone, like the rest of the admin.
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "—"


def _when(moment: datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d") if moment else "—"


def _rolled_up(obj: Subscriber) -> str:
    """Older campaigns, whose rows were rolled up (campaigns/rollup/): how many, and the latest of each."""
    engagement = PersonEngagement.objects.filter(subscriber=obj).first()
    if engagement is None:
        return ""
    return format_html(
        "<p>{}</p>",
        ngettext(
            "Earlier campaigns (rolled up): %(count)s received, the last on %(received)s; "
            "last opened %(opened)s, last clicked %(clicked)s.",
            "Earlier campaigns (rolled up): %(count)s received, the last on %(received)s; "
            "last opened %(opened)s, last clicked %(clicked)s.",
            engagement.campaigns_received,
        )
        % {
            "count": engagement.campaigns_received,
            "received": _when(engagement.last_received_at),
            "opened": _when(engagement.last_opened_at),
            "clicked": _when(engagement.last_clicked_at),
        },
    )


PROBLEMS_SHOWN = 50


def _rolled_up_problems(obj: Subscriber) -> str:
    """The person's bounces, refusals, complaints and failed sends in rolled-up campaigns (campaigns/rollup/).

    Their delivery rows are gone; the problem lines kept for the campaigns'
    reports still say what happened to this person. An erased person's page
    shows none: the lines stay only so that the reports add up.
    """
    if obj.status == Subscriber.Status.ERASED:
        return ""
    problems = (
        RolledUpProblem.objects.filter(subscriber=obj).select_related("campaign").order_by("-pk")[:PROBLEMS_SHOWN]
    )
    rows = format_html_join(
        "",
        '<tr><td>{}</td><td>{}</td><td>{}</td><td style="white-space: nowrap">{}</td></tr>',
        (
            (
                problem.campaign.subject,
                problem.get_event_kind_display() if problem.event_kind else problem.get_status_display(),
                problem.event_reason or problem.error or "—",
                _moment(problem.occurred_at),
            )
            for problem in problems
        ),
    )
    if not rows:
        return ""
    return format_html(
        "<h4>{}</h4>" + SCROLLS + "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>"
        "<tbody>{}</tbody></table></div>",
        _("Problems in earlier campaigns"),
        _("Campaign"),
        _("What happened"),
        _("Reason"),
        _("When"),
        rows,
    )
