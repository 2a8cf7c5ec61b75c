"""The click redirect (/t/c/<token>/) and the open pixel (/t/o/<token>.gif).

Both answer fast and never fail for the reader: recording the event is
best-effort (a database hiccup must not break a link in someone's inbox).
"""

from __future__ import annotations

import base64
import logging

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from campaigns.events.recording import record_first_party_event
from campaigns.events.tracking import InvalidTrackingToken, read_click_token, read_open_token
from campaigns.models import DeliveryEvent

logger = logging.getLogger(__name__)

# The smallest transparent 1x1 GIF.
PIXEL_GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _record(*, delivery_id: int, kind: str, url: str = "") -> None:
    try:
        record_first_party_event(delivery_id=delivery_id, kind=kind, url=url)
    except DatabaseError:
        logger.exception("could not record a %s for delivery %s", kind, delivery_id)


@require_safe
@never_cache
def click(request: HttpRequest, token: str) -> HttpResponse:
    try:
        delivery_id, url = read_click_token(token)
    except InvalidTrackingToken:
        return render(request, "campaigns/tracking_invalid.html", status=400)
    # Link scanners often send HEAD first; only a GET is a reader following the link.
    if request.method == "GET":
        _record(delivery_id=delivery_id, kind=DeliveryEvent.Kind.CLICKED, url=url)
    response = HttpResponseRedirect(url)
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_safe
@never_cache
def open_pixel(request: HttpRequest, token: str) -> HttpResponse:
    try:
        delivery_id = read_open_token(token)
    except InvalidTrackingToken:
        return HttpResponse(status=400)
    if request.method == "GET":
        _record(delivery_id=delivery_id, kind=DeliveryEvent.Kind.OPENED)
    return HttpResponse(PIXEL_GIF, content_type="image/gif")
