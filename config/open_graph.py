"""Open Graph's ``og:locale``: the language a shared page's card is written in, and the others it exists in.

Open Graph names a locale ``language_TERRITORY`` ("fr_FR") where Django has a
language code ("fr", "pt-br"); a card in the wrong locale is shown with the
wrong hyphenation and, on some networks, to the wrong audience.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import translation

# A bare language takes the territory of the same name ("fr" -> "fr_FR"),
# except where that is no country: English is en_US, Open Graph's default.
_TERRITORIES = {"en": "US"}


@dataclass(frozen=True)
class OgLocales:
    locale: str
    alternates: list[str] = field(default_factory=list)


def og_locale(language: str) -> str:
    """ "es" -> "es_ES", "pt-br" -> "pt_BR", "en" -> "en_US"."""
    code = translation.to_locale(language)
    base, _sep, region = code.partition("_")
    if len(region) == 2:
        return f"{base}_{region.upper()}"
    return f"{base}_{_TERRITORIES.get(base, base.upper())}"


def site_languages() -> list[str]:
    return [code for code, _label in settings.LANGUAGES]


def og_locales(language: str, offered: Iterable[str]) -> OgLocales:
    """The page's own locale and the other ``offered`` languages' (each once, never its own)."""
    own = og_locale(language)
    alternates: list[str] = []
    for code in offered:
        locale = og_locale(code)
        if locale != own and locale not in alternates:
            alternates.append(locale)
    return OgLocales(own, alternates)


def for_the_active_language() -> OgLocales:
    """A page whose words all follow the reader's language (home, sign-up): offered in every site language."""
    languages = site_languages()
    active = translation.get_language() or settings.LANGUAGE_CODE
    return og_locales(active if active in languages else settings.LANGUAGE_CODE, languages)
