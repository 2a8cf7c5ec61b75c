"""Anymail's webhook URLs, each wrapped so that bad input is a 4xx, never a 500.

Anymail itself refuses missing or wrong basic auth (``WEBHOOK_SECRET``) and
bad provider signatures (Mailgun's signing key, Postal's public key, Resend's
secret) with a 400/401/403. It lets a malformed body (invalid JSON, a missing
field) escape as an exception, which Django turns into a 500 and the
provider retries forever; here that becomes a 400.

Amazon SES: Anymail does not verify SNS message signatures, so for SES the
``WEBHOOK_SECRET`` basic auth is the only guard (settings refuse to start
with ``DEBUG=0`` and no secret).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from anymail import urls as anymail_urls
from anymail.exceptions import AnymailError, AnymailWebhookValidationFailure
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern

logger = logging.getLogger(__name__)

# What a malformed or unexpected body raises inside Anymail's parsers.
_BAD_INPUT = (ValueError, KeyError, TypeError, AttributeError, IndexError, UnicodeError, AnymailError)


def guarded(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except AnymailWebhookValidationFailure:
            raise  # Django answers SuspiciousOperation with a 400 and logs it as such.
        except ImproperlyConfigured as exc:
            # A provider we are not set up for (e.g. no Mailgun signing key), or
            # an inbound webhook pointed at a tracking URL.
            logger.warning("webhook %s refused: %s", request.path, exc)
            return HttpResponse("Webhook not configured for this provider\n", status=400, content_type="text/plain")
        except _BAD_INPUT as exc:
            logger.warning("webhook %s: malformed payload: %s", request.path, exc)
            return HttpResponse("Malformed webhook payload\n", status=400, content_type="text/plain")
        except DatabaseError:
            # Providers retry on 5xx: the event is not lost, it comes back later.
            logger.exception("webhook %s: database unavailable", request.path)
            response = HttpResponse("Try again later\n", status=503, content_type="text/plain")
            response["Retry-After"] = "60"
            return response

    return wrapper


app_name = anymail_urls.app_name
urlpatterns = [
    URLPattern(pattern.pattern, guarded(pattern.callback), pattern.default_args, pattern.name)
    for pattern in anymail_urls.urlpatterns
    if isinstance(pattern, URLPattern)
]
