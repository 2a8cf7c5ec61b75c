"""The debug page `make run` serves (DEBUG on) never shows a password from a URL setting."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import path

import config.urls

PASSWORDS = {
    "DATABASE_URL": "pg-Pa55word",
    "REDIS_URL": "redis-Pa55word",
    "CACHE_URL": "cache-Pa55word",
    "CELERY_BROKER_URL": "broker-Pa55word",
    "EMAIL_URL": "smtp-Pa55word",
}
URLS = {
    "DATABASE_URL": "postgres://tocsin:pg-Pa55word@db.internal:5432/tocsin",
    "REDIS_URL": "redis://:redis-Pa55word@redis.internal:6379/0",
    "CACHE_URL": "rediss://default:cache-Pa55word@cache.internal:6380/1",
    "CELERY_BROKER_URL": "redis://worker:broker-Pa55word@redis.internal:6379/0",
    "EMAIL_URL": "smtp+tls://mailer:smtp-Pa55word@smtp.internal:587",
}


def broken_view(request):  # type: ignore[no-untyped-def]
    # Values read at run time, as real code does (the page also shows these source lines).
    broker = django_settings.CELERY_BROKER_URL  # a local variable, shown in the traceback
    secret = urlsplit(django_settings.DATABASE_URL).password
    dsn = f"host=db.internal user=tocsin password={secret} dbname=tocsin"  # libpq's own form
    connection_params = {"host": "db.internal", "password": secret}
    raise ConnectionError(f"cannot reach {broker} ({dsn}, {len(connection_params)} params)")


urlpatterns = [path("boom/", broken_view), *config.urls.urlpatterns]


@pytest.mark.urls("tests.test_debug_page")
def test_the_debug_page_stars_passwords_in_urls_settings_environment_and_tracebacks(settings):
    settings.DEBUG = True
    for name, url in URLS.items():
        setattr(settings, name, url)
    settings.CACHES = {
        **settings.CACHES,
        "shared": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": URLS["CACHE_URL"]},
    }
    client = Client(raise_request_exception=False)
    # The dev server copies the process environment into request.META.
    response = client.get("/boom/", **URLS)

    page = response.content.decode()
    assert response.status_code == 500
    assert "DATABASE_URL" in page and "cannot reach" in page  # it is Django's debug page, with settings
    assert "postgres://tocsin:********************@db.internal:5432/tocsin" in page
    for password in PASSWORDS.values():
        assert password not in page
