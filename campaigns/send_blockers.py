"""What stops a campaign from being sent or scheduled, whoever asks.

The pre-send checklist (``campaigns.checklist``) only warns; the problems
here block: every path that sends or schedules (the admin's buttons, the
API's ``/send``, ``manage.py send_campaign``, beat starting a scheduled
campaign) passes ``campaigns.operations.start`` or ``campaigns.sending.control.start_due``,
which ask ``blocked_reason`` first.

A malformed or unknown merge tag blocks because readers would get it wrong:
``{{ name }`` and ``*|FNAME|*`` arrive as typed, ``{{ nmae }}`` silently
disappears. What counts as a merge field is ``campaigns.merge_fields``, the
syntax the renderer itself fills in.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns import merge_fields
from campaigns.models import Campaign, CampaignTranslation

# The renderer personalises these fields; the button text is shown as typed.
_FIELDS = [
    ("subject", gettext_lazy("Subject"), True),
    ("preheader", gettext_lazy("Preheader"), True),
    ("intro_markdown", gettext_lazy("Introduction"), True),
    ("body_markdown", gettext_lazy("Text"), True),
    ("call_to_action_text", gettext_lazy("Button text"), False),
]


@dataclass(frozen=True)
class Problem:
    code: str
    message: str


def _version_label(language: str, *, main: bool) -> str:
    name = str(dict(settings.LANGUAGES).get(language, language))
    if main:
        return _("%(language)s, main version") % {"language": name}
    return _("%(language)s translation") % {"language": name}


def _problems_in(content: Campaign | CampaignTranslation, version: str, *, kind: str) -> list[Problem]:
    found = []
    for name, label, fields_allowed in _FIELDS:
        if name == "call_to_action_text" and kind == Campaign.Kind.BULLETIN:
            continue  # bulletins have no button: the text is never shown
        for tag in merge_fields.problems(getattr(content, name, ""), fields_allowed=fields_allowed):
            where = _("%(field)s (%(version)s)") % {"field": label, "version": version}
            if fields_allowed:
                message = _(
                    "%(where)s: “%(tag)s” is not a merge field Tocsin knows; readers would get it wrong. "
                    'Use {{ name }} or {{ first_name }}, with |default:"…" if you like.'
                )
            else:
                message = _("%(where)s: “%(tag)s” would be shown as typed: merge fields are not filled in here.")
            found.append(Problem("merge-tag", message % {"where": where, "tag": tag}))
    return found


def problems(campaign: Campaign) -> list[Problem]:
    """Every blocking problem of ``campaign``, each saying where it is."""
    found = _problems_in(campaign, _version_label(campaign.language, main=True), kind=campaign.kind)
    for translation in campaign.translations.order_by("language"):
        version = _version_label(translation.language, main=False)
        found.extend(_problems_in(translation, version, kind=campaign.kind))
    return found


def blocked_reason(campaign: Campaign) -> str | None:
    """One sentence (with every problem) for an error message, or None when nothing blocks."""
    found = problems(campaign)
    if not found:
        return None
    return " ".join([_("This campaign cannot be sent until this is fixed:"), *(p.message for p in found)])
