"""The public web version of a sent campaign ("view in browser").

Anyone with the link may read it (it is forwarded, shared, archived), so it
is rendered for an anonymous reader: no name, no unsubscribe or preference
link, a sign-up link instead.
"""

from __future__ import annotations

import contextlib
import re

import redis
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from campaigns.models import Campaign
from campaigns.sending.rendering import CampaignRenderer
from config.csp import allow_inline_styles

PUBLIC_STATUSES = (Campaign.Status.SENDING, Campaign.Status.SENT)
CACHE_SECONDS = 600
# Attribution codes are URL-safe tokens; anything else (a NUL byte makes
# PostgreSQL raise) is answered before it reaches the database.
_CODE = re.compile(r"[A-Za-z0-9._~-]{1,32}")


@require_safe
def web_version(request: HttpRequest, code: str) -> HttpResponse:
    campaign = None
    if _CODE.fullmatch(code):
        campaign = Campaign.objects.filter(attribution_code=code, status__in=PUBLIC_STATUSES).first()
    if campaign is None:
        raise Http404("no sent campaign with this code")
    renderer = CampaignRenderer(campaign)
    requested = request.GET.get("lang", "")
    language = requested if requested in renderer.languages else campaign.language
    # A bulletin link shared on social media can bring a crowd: render once, serve from the cache.
    key = f"web-version:{campaign.pk}:{language}:{campaign.updated_at.timestamp()}"
    page = _cached(key)
    if page is None:
        page = renderer.web_html(language)
        with contextlib.suppress(redis.RedisError):
            cache.set(key, page, CACHE_SECONDS)
    response = HttpResponse(page)
    response["Content-Language"] = language
    if not campaign.in_public_archive:
        # Out of the archive: still readable from the email's "view in browser"
        # link, but never listed, indexed or kept by a shared cache.
        response["X-Robots-Tag"] = "noindex, nofollow"
        response["Cache-Control"] = "private, no-store"
    # The page is the email itself, its CSS inlined into style attributes for
    # mail clients: the public policy's "no inline style" is lifted here alone
    # (scripts stay forbidden).
    return allow_inline_styles(response)


def _cached(key: str) -> str | None:
    try:
        return cache.get(key)
    except redis.RedisError:  # the cache is down: render every time, slower but served
        return None
