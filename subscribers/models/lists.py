"""Lists: the topics supporters choose, with their names in each language."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import models
from django.utils import timezone, translation
from django.utils.text import get_text_list
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _

from subscribers.translated import TranslatedNames


class Language(models.TextChoices):
    EN = "en", _("English")
    ES = "es", _("Spanish")
    FR = "fr", _("French")


class MailingList(TranslatedNames, models.Model):
    slug = models.SlugField(
        max_length=60,
        unique=True,
        verbose_name=_("slug"),
        help_text=_("The list's name in web addresses and in the API, e.g. peru."),
    )
    name = models.CharField(max_length=120, verbose_name=_("name"))
    description = models.TextField(blank=True, verbose_name=_("description"))
    public = models.BooleanField(
        default=True, help_text=_("Offered on the sign-up form and in the preference centre."), verbose_name=_("public")
    )
    tracking_enabled = models.BooleanField(
        default=True,
        help_text=_("Off: no open pixel and no click tracking for anyone who gets a campaign through this list."),
        verbose_name=_("count opens and clicks"),
    )
    position = models.PositiveIntegerField(default=0, verbose_name=_("position"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    # {"es": {"name": "…", "description": "…"}, "fr": {…}}: what readers of
    # those languages see instead of ``name`` and ``description``.
    translations = models.JSONField(default=dict, blank=True, verbose_name=_("translations"))

    class Meta:
        verbose_name = _("mailing list")
        verbose_name_plural = _("mailing lists")
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.local_name

    def description_in(self, language: str | None) -> str:
        return self._translated("description", language)

    @property
    def local_description(self) -> str:
        return self.description_in(translation.get_language())


def quoted_list_names(mailing_lists: Iterable[MailingList], *, language: str | None = None) -> str:
    """'“Peru” and “Guatemala”' in ``language`` (default: the active one), with that language's quotation marks."""
    with translation.override(language or translation.get_language()):
        quoted = [
            pgettext("quotation marks around a list's name", "“%(name)s”") % {"name": mailing_list.local_name}
            for mailing_list in mailing_lists
        ]
        return get_text_list(quoted, gettext("and"))
