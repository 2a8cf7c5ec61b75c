import logging
import sys

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from campaigns.views.public import home_context
from config import health

logger = logging.getLogger(__name__)

# What Django raises when the database cannot be reached (refused, gone,
# timed out), as opposed to a bug in a query.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 60


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html", home_context(request))


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the web process answers. Whether it can work is /readyz."""
    return JsonResponse({"ok": True})


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: 200 when the database, the broker and a worker are there; 503 naming what is not."""
    checks = health.readiness()
    ready = all(state == "ok" for state in checks.values())
    return JsonResponse(checks, status=200 if ready else 503)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: a bug is the branded 500 page; an unreachable database a 503 with Retry-After.

    Django calls this inside its ``except`` block, so the exception is at hand.
    Mailbox providers and API clients retry a 503.
    """
    if isinstance(sys.exception(), DATABASE_UNAVAILABLE):
        return database_unavailable(request)
    return error_page("500.html", status=500)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    return error_page("400.html", status=400)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    return error_page("403.html", status=403)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return error_page("403_csrf.html", status=403)


def error_page(template: str, *, status: int) -> HttpResponse:
    """An error page from settings and the active language only (templates/error_page.html).

    Rendered without the request: no context processor, session, user or
    query runs, so the page shows when the database or Redis is what broke.
    """
    page: str
    try:
        page = render_to_string(
            template, {"org_name": settings.TOCSIN_ORG_NAME, "org_address": settings.TOCSIN_ORG_ADDRESS}
        )
    except Exception:  # the page itself failed: still the status, in plain words
        logger.exception("the %s page could not be rendered", status)
        page = _("Sorry, something went wrong. Please try again in a few minutes.")
    return HttpResponse(page, status=status)


def database_unavailable(request: HttpRequest) -> HttpResponse:
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse(
            {"detail": _("The service is briefly unavailable: its database cannot be reached. Try again shortly.")},
            status=503,
        )
    else:
        try:
            response = render(request, "503.html", status=503)
        except Exception:  # the page itself failed: still a 503, in plain words
            logger.exception("the 503 page could not be rendered")
            response = HttpResponse("Service unavailable; please try again in a minute.", status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def favicon(request: HttpRequest) -> HttpResponse:
    # Browsers, feed readers and the admin's pop-ups ask for /favicon.ico whatever the page links.
    return HttpResponsePermanentRedirect(static("tocsin/favicon.svg"))
