"""The campaign form's "audience by action": leave out who signed some actions, or address only them.

An inline that actions adds to campaigns' CampaignAdmin (campaigns cannot
import actions; actions may reach down). Saved with the campaign's other
inlines, so a change after approval sends the campaign back to draft like
any other edit (campaigns/services/drafts.py).
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from actions.models import ActedAudience
from campaigns.admin.campaigns.admin import CampaignAdmin


class ActedAudienceInline(admin.StackedInline):
    model = ActedAudience
    extra = 1
    max_num = 1
    can_delete = False
    autocomplete_fields = ("exclude_acted", "only_acted")
    verbose_name = verbose_name_plural = _("Audience by action")


if ActedAudienceInline not in CampaignAdmin.inlines:
    CampaignAdmin.inlines = [*CampaignAdmin.inlines, ActedAudienceInline]
