"""Which sites may post Tocsin's embedded forms (``TOCSIN_EMBED_ALLOWED_ORIGINS``).

The sign-up snippet and the action embed are posted from another site's page,
with no CSRF cookie; when the organisation lists its sites, a post from any
other origin is refused. Both embeds (subscribers and actions) ask here.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest


def posting_origin(request: HttpRequest) -> str | None:
    """scheme://host[:port] of the page that posted, from Origin or else Referer."""
    origin = request.META.get("HTTP_ORIGIN", "")
    if origin and origin != "null":
        return origin.rstrip("/").lower()
    referer = request.META.get("HTTP_REFERER", "")
    if referer:
        parts = urlsplit(referer)
        if parts.scheme and parts.netloc:
            return f"{parts.scheme}://{parts.netloc}".lower()
    return None


def origin_allowed(request: HttpRequest) -> bool:
    allowed = {origin.lower() for origin in settings.TOCSIN_EMBED_ALLOWED_ORIGINS}
    if not allowed:
        return True
    origin = posting_origin(request)
    own = urlsplit(settings.SITE_URL)
    return origin is not None and (origin in allowed or origin == f"{own.scheme}://{own.netloc}".lower())
