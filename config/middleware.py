"""Refuse text no field may hold before any view, form or query sees it.

A NUL makes PostgreSQL refuse the query, a lone surrogate (``"\\ud800"`` in
JSON) makes every UTF-8 encoder on the way (the driver, the email encoder,
Django's own debug page) raise, and both used to surface as a 500 from
whichever line touched the value first. Checking each field in each view
missed some (a list slug, a search box, a cookie), so every request is
checked here once, with the rules of ``subscribers/text.py``: the path, the
query string, form fields, a JSON body (keys too), cookies and headers
(Django itself drops unprintable characters from uploaded file names).
Fields that must be one line (a subject, a name) are still checked by their
own validators; this is the floor under all of them.

The answer is a 400: JSON ``{"errors": {field: [message]}}`` under /api/,
a short page elsewhere, rendered from a standalone template that touches
neither the offending input, the session nor the database.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from subscribers.text import header_problem, text_problem, unsafe_text_in

API_PREFIX = "/api/"
# Provider webhooks are never refused here: a provider retries a 4xx for
# days, so their handlers store cleaned text and answer 2xx themselves.
EXEMPT_PREFIXES = ("/anymail/", "/donations/stripe/webhook/")
_FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


def _pairs(query: object) -> Iterator[tuple[str, str]]:
    for key, values in query.lists():  # type: ignore[attr-defined]
        yield key, key
        for value in values:
            yield key, value


def _field(name: str) -> str:
    # The field's own name is shown back only when it is itself clean.
    return name if text_problem(name, single_line=True) is None else "body"


def _unsafe_in_url_and_headers(request: HttpRequest) -> tuple[str, str] | None:
    problem = text_problem(request.path_info, single_line=True)
    if problem:
        return "path", problem
    for name, value in _pairs(request.GET):
        if problem := text_problem(value):
            return _field(name), problem
    for name, value in request.COOKIES.items():
        if problem := header_problem(name) or header_problem(value):
            return "cookies", problem
    for name, value in request.META.items():
        if name.startswith("HTTP_") and isinstance(value, str) and (problem := header_problem(value)):
            return "headers", problem
    return None


def _unsafe_in_form(request: HttpRequest) -> tuple[str, str] | None:
    try:
        form = request.POST
    except MultiPartParserError:
        return None  # a broken body: Django leaves the form empty and the view says what is missing
    for name, value in _pairs(form):
        if problem := text_problem(value):
            return _field(name), problem
    return None


def _unsafe_in_json(request: HttpRequest) -> tuple[str, str] | None:
    try:
        raw = request.body
    except RequestDataTooBig:
        return None  # the view answers this one in its own words
    if not raw.strip():
        return None
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return None  # not JSON: the view says so
    return next(iter(unsafe_text_in(data)), None)


def find_unsafe_text(request: HttpRequest) -> tuple[str, str] | None:
    """(where, why) of the first text in ``request`` no field may hold, or None."""
    found = _unsafe_in_url_and_headers(request)
    if found or request.method not in ("POST", "PUT", "PATCH", "DELETE"):
        return found
    if request.content_type in _FORM_TYPES:
        return _unsafe_in_form(request)
    return _unsafe_in_json(request)


def refuse(request: HttpRequest, where: str, problem: str) -> HttpResponse:
    if request.path_info.startswith(API_PREFIX):
        return JsonResponse({"errors": {where: [problem]}, "detail": _("The request is not valid.")}, status=400)
    page = render_to_string(
        "400_unsafe_text.html",
        {"problem": problem, "org_name": settings.TOCSIN_ORG_NAME, "org_address": settings.TOCSIN_ORG_ADDRESS},
    )
    return HttpResponseBadRequest(page)


class UnsafeTextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith(EXEMPT_PREFIXES):
            found = find_unsafe_text(request)
            if found:
                return refuse(request, *found)
        return self.get_response(request)
