"""One line per step, as staff read it in the journey's list of steps."""

from __future__ import annotations

from typing import Any

from django.utils.formats import time_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from campaigns import merge_fields


def describe_wait(step: Any) -> str:
    if step.wait_weekday is not None and step.wait_time is not None:
        return _("Wait until %(weekday)s at %(time)s") % {
            "weekday": step.get_wait_weekday_display(),
            "time": time_format(step.wait_time, "H:i"),
        }
    amount = step.wait_amount or 0
    unit = step.wait_unit
    if unit == "minutes":
        return ngettext("Wait %(n)d minute", "Wait %(n)d minutes", amount) % {"n": amount}
    if unit == "hours":
        return ngettext("Wait %(n)d hour", "Wait %(n)d hours", amount) % {"n": amount}
    return ngettext("Wait %(n)d day", "Wait %(n)d days", amount) % {"n": amount}


def describe_step(step: Any) -> str:
    """``step`` is a ``journeys.models.Step`` (not imported: the models use this module)."""
    kind = step.kind
    if kind == "email":
        subject = merge_fields.readable(step.campaign.subject) if step.campaign_id and step.campaign else "—"
        return _("Email: %(subject)s") % {"subject": subject}
    if kind == "wait":
        return describe_wait(step)
    if kind == "condition":
        target = step.branch_to
        where = (_("step %(n)d") % {"n": target.position}) if target else _("the next step")
        return _("If they %(condition)s, go to %(where)s") % {
            "condition": step.get_condition_display(),
            "where": where,
        }
    if kind == "end":
        return _("End the journey here")
    name = step.mailing_list.name if step.mailing_list_id and step.mailing_list else "—"
    if kind == "add_to_list":
        return _("Add to the list “%(name)s”") % {"name": name}
    return _("Remove from the list “%(name)s”") % {"name": name}
