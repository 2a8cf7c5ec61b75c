"""Every error under /api/ answers JSON, whoever produced it.

Views answer JSON themselves, but some errors come from elsewhere: Django's
404 for a path no route matches (with DEBUG, its HTML debug page), the 500
page, a 400 from a suspicious request, a 413 from a proxy-minded middleware.
An API client parses the body of every answer, so those become
``{"detail": …}`` too, with the same status and headers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse

API_PREFIX = "/api/"
# Kept from the original answer: they tell the client what to do next.
_KEPT_HEADERS = ("Allow", "WWW-Authenticate", "Retry-After")


class JsonErrorsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(API_PREFIX):
            # Read the body before anything parses it as a form (the text guard in
            # config/middleware.py does): Django then keeps both, and the API's JSON
            # parser can still tell "no options" from a form it will not take.
            with contextlib.suppress(RequestDataTooBig):
                request.body  # noqa: B018
        response = self.get_response(request)
        if (
            response.status_code < 400
            or not request.path_info.startswith(API_PREFIX)
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        payload: dict[str, object] = {"detail": response.reason_phrase}
        if response.status_code == 400:
            # The schema's 400 is a ValidationError, which always has errors.
            payload["errors"] = {"request": [response.reason_phrase]}
        replacement = JsonResponse(payload, status=response.status_code)
        for name in _KEPT_HEADERS:
            if name in response:
                replacement[name] = response[name]
        return replacement
