"""The "acted" line of a campaign's report: how many of its readers signed an action it links to.

A reader acted when they signed through their personal link in this
campaign, or signed (with their subscriber address, on the public page or
anywhere else) one of the actions the campaign links to after it started
sending. Each person counts once, however many actions they signed.
"""

from __future__ import annotations

import re

from django.db.models import Q
from django.utils.translation import gettext as _

from actions.models import Signature
from campaigns.models import Campaign, Delivery
from campaigns.reports.contributions import ReportLine

_ACTION_LINK = re.compile(r"/act/([-a-zA-Z0-9_]+)/")


def linked_slugs(campaign: Campaign) -> set[str]:
    texts = [campaign.intro_markdown, campaign.body_markdown, campaign.call_to_action_url]
    for translation in campaign.translations.all():
        texts += [translation.intro_markdown, translation.body_markdown]
    return {slug for text in texts for slug in _ACTION_LINK.findall(text or "")}


def acted_count(campaign: Campaign) -> int | None:
    """People who acted because of ``campaign``, or None when it links to no action and brought no signature."""
    slugs = linked_slugs(campaign)
    through_link = Q(campaign=campaign)
    if slugs and campaign.started_at is not None:
        readers = Delivery.objects.filter(campaign=campaign).values("subscriber_id")
        through_link |= Q(action__slug__in=slugs, subscriber_id__in=readers, created_at__gte=campaign.started_at)
    signatures = Signature.objects.filter(through_link)
    if not slugs and not signatures.exists():
        return None
    return signatures.exclude(subscriber=None).values("subscriber_id").distinct().count()


def acted_line(campaign: Campaign) -> ReportLine | None:
    acted = acted_count(campaign)
    if acted is None:
        return None
    return ReportLine(
        key="acted",
        label=_("Acted"),
        value=acted,
        note=_("signed an action this campaign links to"),
        of_opened=_("of %(opened)s who opened, %(value)s acted"),
    )
