"""The API object: django-ninja with Tocsin's contract for errors, bodies and the document.

SPEC's contract, kept here for every endpoint, campaigns' and those other
apps register (``register_router``, called from their ``AppConfig.ready()``,
so campaigns never imports them):

- ``Authorization: Bearer TOKEN``; none or a bad one: 401 with
  ``WWW-Authenticate``; a user without the permission: 403.
- Bad input: 400 ``{"errors": {field: [message, …]}, "detail": …}``, every
  problem at once, with the field named by its path (``translations.es.subject``);
  a field the schema does not name is refused, never ignored.
- Every other error: ``{"detail": …}``.
- ``/api/v1/openapi.json`` is generated from the schemas; ``/api/v1/docs`` shows it.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Router, Swagger
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser

from campaigns import lifecycle
from campaigns.services.drafts import InvalidCampaign

MAX_BODY_BYTES = 1024 * 1024
_FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


class Invalid(Exception):
    """Bad input found by an endpoint or a service: the API's 400, ``errors`` by field."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("invalid request")
        self.errors = errors


class JsonBody(Parser):
    """A JSON object, or Invalid saying what is wrong with the body."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        if request.content_type in _FORM_TYPES:
            # A bodiless POST from a form-minded client (curl -X POST -d '') means "no options".
            if not request.POST:
                return {}
            raise Invalid({"body": [_("Send options as a JSON object (Content-Type: application/json).")]})
        try:
            raw = request.body
        except RequestDataTooBig:
            raise Invalid({"body": [_("The request body is too large.")]}) from None
        if len(raw) > MAX_BODY_BYTES:
            raise Invalid({"body": [_("The request body is too large.")]})
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            raise Invalid({"body": [_("The request body is not valid JSON.")]}) from None
        if not isinstance(data, dict):
            raise Invalid({"body": [_("The request body must be a JSON object.")]})
        return data


class TocsinApi(NinjaAPI):
    def get_content_type(self) -> str:
        return "application/json"  # JSON is UTF-8 (RFC 8259): no charset parameter

    def get_openapi_schema(self, *, path_prefix: str | None = None, path_params: Any = None) -> Any:
        # Paths relative to the server URL (/lists, not /api/v1/lists), as clients and the fuzzer read them.
        schema = super().get_openapi_schema(path_prefix="", path_params=path_params)
        for operations in schema["paths"].values():
            for operation in operations.values():
                # The docstring's first line is the summary, the rest the description.
                summary, _blank, rest = operation.get("description", "").partition("\n\n")
                if summary:
                    operation["summary"], operation["description"] = " ".join(summary.split()), rest
        return schema


api = TocsinApi(
    title="Tocsin API",
    version="1.0.0",
    description=(
        "Lists, subscribers, campaigns and what other apps add (actions). Authenticate with "
        "`Authorization: Bearer <token>` (`manage.py create_api_token --user USERNAME`); a token acts with its "
        "user's role: writers create drafts, senders also send, pause, resume and cancel, admins also add "
        'subscribers. Bad input is a 400 with `{"errors": {field: [message, …]}}`; every other error is '
        '`{"detail": …}`.'
    ),
    servers=[{"url": f"{settings.SITE_URL}/api/v1"}],
    urls_namespace="api",
    # Swagger UI from our static files (ninja's, with "ninja" in INSTALLED_APPS): no CDN, no inline
    # script, so the page works under the site's Content-Security-Policy. No validator badge either:
    # it would send the document to a third party.
    docs=Swagger(settings={"validatorUrl": None}),
    docs_url="/docs",
    parser=JsonBody(),
)


def register_router(prefix: str, router: Router) -> None:
    """For apps above campaigns: add their endpoints (and their schemas) to /api/v1/."""
    api.add_router(prefix, router)


# --- errors -------------------------------------------------------------------------------------

_MESSAGES = {
    "missing": lambda ctx: _("This field is required."),
    "extra_forbidden": lambda ctx: _("Unknown field."),
    "string_type": lambda ctx: _("Must be a string."),
    "string_too_long": lambda ctx: _("At most %(max)d characters.") % {"max": ctx.get("max_length", 0)},
    "too_long": lambda ctx: _("At most %(max)d items.") % {"max": ctx.get("max_length", 0)},
    "too_short": lambda ctx: _("Choose at least one."),
    "list_type": lambda ctx: _("Must be a list of strings."),
    "bool_type": lambda ctx: _("Must be true or false."),
    "int_type": lambda ctx: _("Must be a whole number."),
    "model_type": lambda ctx: _("Must be an object."),
    "model_attributes_type": lambda ctx: _("Must be an object."),
    "dict_type": lambda ctx: _("Must be an object."),
}


def field_errors(errors: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Pydantic's errors as ``{field: [message]}``: the field by its path, list positions left out."""
    found: dict[str, list[str]] = {}
    for error in errors:
        where = [str(part) for part in error["loc"][1:] if not isinstance(part, int)]
        if where[:1] == ["payload"]:
            where = where[1:]  # the body as a whole
        field = ".".join(part[:60] for part in where) or "body"
        ours = _MESSAGES.get(error["type"])
        message = ours(error.get("ctx") or {}) if ours else str(error["msg"])
        if message not in found.setdefault(field, []):
            found[field].append(message)
    return found


def invalid(request: HttpRequest, errors: dict[str, list[str]]) -> HttpResponse:
    body = {"detail": _("The request is not valid."), "errors": errors}
    return api.create_response(request, body, status=400)


def detail(request: HttpRequest, status: int, message: str) -> HttpResponse:
    return api.create_response(request, {"detail": str(message)}, status=status)


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return invalid(request, field_errors(exc.errors))


@api.exception_handler(Invalid)
def _invalid(request: HttpRequest, exc: Invalid) -> HttpResponse:
    return invalid(request, exc.errors)


@api.exception_handler(InvalidCampaign)
def _invalid_campaign(request: HttpRequest, exc: InvalidCampaign) -> HttpResponse:
    return invalid(request, exc.errors)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = detail(request, 401, _("Authentication required: send 'Authorization: Bearer <token>'."))
    response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc.__cause__, Invalid):  # the body parser's own words (ninja wraps them)
        return invalid(request, exc.__cause__.errors)
    return detail(request, exc.status_code, exc.message)


@api.exception_handler(lifecycle.ScheduleInPast)
def _schedule_in_past(request: HttpRequest, exc: lifecycle.ScheduleInPast) -> HttpResponse:
    return invalid(request, {"at": [str(exc)]})


@api.exception_handler(lifecycle.Refused)
def _refused(request: HttpRequest, exc: lifecycle.Refused) -> HttpResponse:
    return detail(request, 409, str(exc))


@api.exception_handler(Exception)
def _server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    raise exc  # Django logs it and answers 500; campaigns/api/middleware.py makes that JSON
