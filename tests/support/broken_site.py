"""Tocsin's URLs plus views that fail as a bug or a refusal would: what visitors see then.

Tests point ``ROOT_URLCONF`` here (``@pytest.mark.urls``), or a web process's
``DJANGO_SETTINGS_MODULE`` at ``tests.support.broken_settings``.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from django.urls import path

from config.urls import handler400, handler403, handler500
from config.urls import urlpatterns as tocsin_urlpatterns

__all__ = ["handler400", "handler403", "handler500", "urlpatterns"]


def broken(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug in a view")


def forbidden(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied


def suspicious(request: HttpRequest) -> HttpResponse:
    raise SuspiciousOperation("a request no honest browser sends")


urlpatterns = [
    path("broken/", broken),
    path("forbidden/", forbidden),
    path("suspicious/", suspicious),
    *tocsin_urlpatterns,
]
