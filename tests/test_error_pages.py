"""The error pages a visitor meets (400, 403, 404, 500): the organisation's look, in their language.

DEBUG is off, as in production. The 500 page is the one shown when something
is broken, so it needs neither the database nor Redis: these tests run with
database access blocked (no ``django_db`` mark: pytest-django refuses any
query) and the cache pointed at a Redis port nobody listens on.
tests/e2e/test_error_page_outage_e2e.py shows it from gunicorn with PostgreSQL
and Redis really unreachable.
"""

from __future__ import annotations

import pytest
from django.test import Client

from tests.support.outages import free_port

pytestmark = pytest.mark.urls("tests.support.broken_site")

SORRY = {
    "en": "Something went wrong on our side",
    "es": "Algo falló de nuestro lado",
    "fr": "Un problème est survenu de notre côté",
}
REFUSED = {
    "en": "This request could not be understood",
    "es": "No pudimos entender esta solicitud",
    "fr": "Cette demande n’a pas pu être comprise",
}
EXPIRED_FORM = {
    "en": "This form could not be sent",
    "es": "No se pudo enviar este formulario",
    "fr": "Ce formulaire n’a pas pu être envoyé",
}
FORBIDDEN = {
    "en": "You cannot see this page",
    "es": "No puede ver esta página",
    "fr": "Vous ne pouvez pas voir cette page",
}
NOT_FOUND = {
    "en": "We could not find that page",
    "es": "No encontramos esa página",
    "fr": "Nous n’avons pas trouvé cette page",
}


@pytest.fixture
def production(settings):
    settings.DEBUG = False
    settings.TOCSIN_ORG_NAME = "Red Andina de Defensores"
    # Nothing listens there: a page that touched the cache (or a session in it) would fail.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
        }
    }
    return Client(raise_request_exception=False)


def get(client: Client, path: str, language: str):  # type: ignore[no-untyped-def]
    return client.get(path, headers={"accept-language": language})


@pytest.mark.parametrize("language", ["en", "es", "fr"])
def test_a_bug_in_a_view_shows_the_branded_500_page_in_the_visitors_language(production, language):
    response = get(production, "/broken/", language)

    page = response.content.decode()
    assert response.status_code == 500
    assert f'<html lang="{language}">' in page
    assert SORRY[language] in page
    assert "Red Andina de Defensores" in page
    assert "tocsin/site.css" in page
    assert "a bug in a view" not in page  # nothing of the error itself


@pytest.mark.parametrize("language", ["en", "es", "fr"])
def test_400_403_and_404_pages_are_branded_and_translated(production, language):
    cases = [("/suspicious/", 400, REFUSED), ("/forbidden/", 403, FORBIDDEN), ("/no-such-page/", 404, NOT_FOUND)]
    for path, status, words in cases:
        response = get(production, path, language)
        page = response.content.decode()
        assert response.status_code == status, path
        assert words[language] in page, path
        assert f'<html lang="{language}">' in page, path
        assert "Red Andina de Defensores" in page, path


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "es", "fr"])
def test_a_form_sent_without_its_csrf_cookie_gets_a_branded_page_that_says_what_to_do(settings, language):
    settings.DEBUG = False
    settings.TOCSIN_ORG_NAME = "Red Andina de Defensores"
    browser = Client(enforce_csrf_checks=True)

    response = browser.post("/signup/", {"email": "ana@example.org"}, headers={"accept-language": language})

    page = response.content.decode()
    assert response.status_code == 403
    assert EXPIRED_FORM[language] in page
    assert "Red Andina de Defensores" in page and f'<html lang="{language}">' in page
