"""An action in the supporter's language: its page, and the letter they sign, from ``ActionTranslation``.

The action's own fields are in the organisation's main language
(``LANGUAGE_CODE``). ``localized`` returns a copy of the action with the
title, text and letter of the translation for ``language`` (each one left
as the action's own where the translation leaves it blank), or the action
itself when there is none. The copy is for showing and signing only: saving
it would write the translation over the original, so it refuses.
"""

from __future__ import annotations

import copy
from typing import Any

from django.conf import settings

from actions.models import Action, ActionTranslation

_FIELDS = ("title", "body_markdown", "letter_subject", "letter_body")


class ReadOnlyCopy(Exception):
    """A localized copy of an action was saved: save the original instead."""


def _refuse(*args: Any, **kwargs: Any) -> None:
    raise ReadOnlyCopy("a localized copy of an action cannot be saved")


def original(action: Action) -> Action:
    return getattr(action, "_original", action)


def localized(action: Action, language: str) -> Action:
    action = original(action)
    if not language or language == settings.LANGUAGE_CODE or action.pk is None:
        return action
    translation = ActionTranslation.objects.filter(action=action, language=language).first()
    if translation is None:
        return action
    shown = copy.copy(action)
    for name in _FIELDS:
        value = getattr(translation, name)
        if value.strip():
            setattr(shown, name, value)
    shown._original = action  # type: ignore[attr-defined]
    shown._language = language  # type: ignore[attr-defined]
    shown.save = _refuse  # type: ignore[method-assign]
    return shown


def language_of(action: Action) -> str:
    """The language ``action``'s title and text are shown in: a translation's, or the organisation's own."""
    return getattr(action, "_language", settings.LANGUAGE_CODE)


def languages_of(action: Action) -> list[str]:
    """Every language the action can be read in: its own and its translations'."""
    translated = ActionTranslation.objects.filter(action=original(action)).values_list("language", flat=True)
    return [settings.LANGUAGE_CODE, *sorted(translated)]


def set_translations(action: Action, translations: dict[str, dict[str, str]]) -> None:
    """Replace the action's translations (the API's ``translations``: ``{lang: {title, body_markdown, …}}``)."""
    for language, fields in translations.items():
        ActionTranslation.objects.update_or_create(
            action=action, language=language, defaults={name: fields.get(name) or "" for name in _FIELDS}
        )
