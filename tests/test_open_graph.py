"""Open Graph locales on the public pages: a shared link says which language its card is in, and which others exist."""

from __future__ import annotations

import re

import pytest

from actions.models import ActionTranslation
from tests.support.factories import make_article, petition

pytestmark = pytest.mark.django_db


def metas(html: str, key: str) -> list[str]:
    return re.findall(rf'<meta property="{re.escape(key)}" content="([^"]*)"', html)


def locales(client, url: str, language: str) -> tuple[list[str], list[str]]:  # type: ignore[no-untyped-def]
    response = client.get(url, headers={"accept-language": language})
    assert response.status_code == 200
    html = response.content.decode()
    return metas(html, "og:locale"), sorted(metas(html, "og:locale:alternate"))


@pytest.mark.parametrize(
    ("language", "locale", "alternates"),
    [("en", "en_US", ["es_ES", "fr_FR"]), ("es", "es_ES", ["en_US", "fr_FR"]), ("fr", "fr_FR", ["en_US", "es_ES"])],
)
@pytest.mark.parametrize("url", ["/", "/signup/"])
def test_home_and_signup_name_their_language_and_the_others_offered(client, url, language, locale, alternates):
    assert locales(client, url, language) == ([locale], alternates)


def test_the_signup_page_has_a_share_card(client, settings):
    settings.SITE_URL = "https://news.example.org"

    html = client.get("/signup/", headers={"accept-language": "es"}).content.decode()

    assert metas(html, "og:url") == ["https://news.example.org/signup/"]
    assert metas(html, "og:title") == ["Recibe nuestros boletines y alertas urgentes"]
    assert metas(html, "og:type") == ["website"]


def test_an_article_names_its_own_language_and_its_translations(client):
    english = make_article("mine-spill", language="en")
    make_article("derrame-minero", language="es", translation_of=english)
    make_article("alone", language="fr")

    # A French reader on the English version: the card is in English.
    assert locales(client, "/articles/mine-spill/", "fr") == (["en_US"], ["es_ES"])
    assert locales(client, "/articles/derrame-minero/", "en") == (["es_ES"], ["en_US"])
    assert locales(client, "/articles/alone/", "en") == (["fr_FR"], [])


def test_the_action_page_names_the_language_its_text_is_in(client):
    action = petition()
    ActionTranslation.objects.create(action=action, language="es", title="Detengan la mina", body_markdown="No.")

    assert locales(client, "/act/stop-the-mine/", "es") == (["es_ES"], ["en_US"])
    # No French translation: the title and description stay English, and say so.
    assert locales(client, "/act/stop-the-mine/", "fr") == (["en_US"], ["es_ES"])
    assert locales(client, "/act/stop-the-mine/", "en") == (["en_US"], ["es_ES"])
