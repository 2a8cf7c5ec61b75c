"""Two models beside ``actions.models`` (which imports them): an action's translations, a campaign's audience by action.

They name Action by string, so this module imports nothing from models.py
and the two modules never import each other.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from subscribers.models import Language
from subscribers.text import SafeTextValidator

_ONE_LINE = [SafeTextValidator(single_line=True)]
_MULTI_LINE = [SafeTextValidator()]


class ActionTranslation(models.Model):
    """The action's page and letter in another language; each supporter gets theirs, or the action's own."""

    action = models.ForeignKey(
        "actions.Action", on_delete=models.CASCADE, related_name="translations", verbose_name=_("action")
    )
    language = models.CharField(_("language"), max_length=8, choices=Language.choices)
    title = models.CharField(_("title"), max_length=200, validators=_ONE_LINE)
    body_markdown = models.TextField(_("text"), blank=True, validators=_MULTI_LINE)
    letter_subject = models.CharField(_("letter subject"), max_length=200, blank=True, validators=_ONE_LINE)
    letter_body = models.TextField(_("letter"), blank=True, validators=_MULTI_LINE)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["action", "language"], name="action_translation_unique")]
        verbose_name = _("action translation")
        verbose_name_plural = _("action translations")

    def __str__(self) -> str:
        return f"{self.get_language_display()} · {self.title}"


class ActedAudience(models.Model):
    """A campaign's audience by action: leave out the people who signed these, or address only them."""

    campaign = models.OneToOneField("campaigns.Campaign", on_delete=models.CASCADE, related_name="acted_audience")
    exclude_acted = models.ManyToManyField(
        "actions.Action", blank=True, related_name="+", verbose_name=_("leave out who signed")
    )
    only_acted = models.ManyToManyField(
        "actions.Action", blank=True, related_name="+", verbose_name=_("only who signed")
    )

    class Meta:
        verbose_name = verbose_name_plural = _("audience by action")

    def __str__(self) -> str:
        return str(_("Audience by action"))
