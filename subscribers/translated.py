"""Names written in each language: a model's ``translations`` and the admin fields staff write them in.

A model with a ``translations`` JSONField (``{"es": {"name": "…"}, "fr": {…}}``)
takes ``TranslatedNames`` for ``name_in(language)`` and ``local_name``; its
admin form is a ``TranslatedModelForm`` with one field per translated field
and language in ``settings.LANGUAGES`` (``add_translation_fields``). Mailing
lists use it here, target groups in ``actions``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from django import forms
from django.conf import settings
from django.utils import translation
from django.utils.text import format_lazy
from django.utils.translation import get_language_info
from django.utils.translation import gettext_lazy as _

from subscribers.text import SafeTextValidator


class TranslatedNames:
    """``name_in(language)`` and ``local_name`` from the model's ``translations`` and its own ``name``."""

    translations: Any

    def _translated(self, field: str, language: str | None) -> str:
        translations = self.translations if isinstance(self.translations, dict) else {}
        for code in (language or "", (language or "").split("-")[0]):
            entry = translations.get(code.lower())
            text = entry.get(field) if isinstance(entry, dict) else None
            if isinstance(text, str) and text.strip():
                return text
        return str(getattr(self, field))

    def name_in(self, language: str | None) -> str:
        """The name for readers of ``language``: its translation, else the main name."""
        return self._translated("name", language)

    @property
    def local_name(self) -> str:
        """The name in the language being shown now (a page's, or an email's recipient's)."""
        return self.name_in(translation.get_language())


def translated_languages() -> list[tuple[str, str]]:
    """(code, the language's own name) of every language other than the main one."""
    return [
        (code, get_language_info(code)["name_local"].capitalize())
        for code, _label in settings.LANGUAGES
        if code != settings.LANGUAGE_CODE
    ]


def translated_into(obj: Any) -> str:
    """'es, fr': the languages ``obj`` has a translation in, for an admin column."""
    translations = obj.translations if isinstance(obj.translations, dict) else {}
    return ", ".join(code for code, _language in translated_languages() if code in translations) or "—"


class TranslatedModelForm(forms.ModelForm):
    """A model form that also edits ``translations``: the fields ``{field}_{code}`` for each of ``translated``."""

    # The translated fields; those in ``one_line`` have their spaces collapsed.
    translated: ClassVar[tuple[str, ...]] = ("name",)
    one_line: ClassVar[tuple[str, ...]] = ("name",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        translations = self.instance.translations if isinstance(self.instance.translations, dict) else {}
        for code, _language in translated_languages():
            entry = translations.get(code)
            if not isinstance(entry, dict):
                entry = {}
            for field in self.translated:
                self.initial.setdefault(f"{field}_{code}", entry.get(field, ""))

    def save(self, commit: bool = True) -> Any:
        translations = {}
        for code, _language in translated_languages():
            entry = {
                field: " ".join(value.split()) if field in self.one_line else value.strip()
                for field in self.translated
                if (value := self.cleaned_data.get(f"{field}_{code}") or "").strip()
            }
            if entry:
                translations[code] = entry
        self.instance.translations = translations
        return super().save(commit)


def name_field(max_length: int | None) -> Callable[[str], forms.Field]:
    """The maker of a one-line "Name (Español)" field, for ``add_translation_fields``."""

    def make(language: str) -> forms.Field:
        return forms.CharField(
            label=format_lazy("{} ({})", _("Name"), language),
            max_length=max_length,
            required=False,
            widget=forms.TextInput(attrs={"class": "vTextField"}),
            validators=[SafeTextValidator(single_line=True)],
        )

    return make


def add_translation_fields(
    form_class: type[TranslatedModelForm], makers: dict[str, Callable[[str], forms.Field]]
) -> list[str]:
    """Declare ``{field}_{code}`` on the form, made by ``makers[field](language's name)``; their names, in order.

    Declared on the class (one per language in settings.LANGUAGES), so the
    admin's fieldsets may name them.
    """
    fields = {
        f"{field}_{code}": make(language) for code, language in translated_languages() for field, make in makers.items()
    }
    form_class.base_fields.update(fields)
    form_class.declared_fields.update(fields)
    return list(fields)
