"""Optional CAPTCHA on the sign-up forms: Cloudflare Turnstile.

Off unless both TURNSTILE_SITE_KEY and TURNSTILE_SECRET_KEY are set. The
verification URL is a setting so that tests can answer it from 127.0.0.1.
It fails closed: an organisation switches the CAPTCHA on because it is being
sign-up bombed, and letting everyone through while Cloudflare is unreachable
would defeat that.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.parse
import urllib.request

from django.conf import settings

logger = logging.getLogger(__name__)

RESPONSE_FIELD = "cf-turnstile-response"


def captcha_enabled() -> bool:
    return bool(settings.TURNSTILE_SITE_KEY and settings.TURNSTILE_SECRET_KEY)


def verify_turnstile(*, token: str, ip: str | None) -> bool:
    """Ask Cloudflare whether this widget response is a human's."""
    if not token or len(token) > 2048:  # Cloudflare's documented maximum
        return False
    fields = {"secret": settings.TURNSTILE_SECRET_KEY, "response": token}
    if ip:
        fields["remoteip"] = ip
    request = urllib.request.Request(  # noqa: S310 - the URL is a setting, https in production
        settings.TURNSTILE_VERIFY_URL,
        data=urllib.parse.urlencode(fields).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.TURNSTILE_TIMEOUT) as response:  # noqa: S310
            answer = json.loads(response.read(65536))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        logger.warning("Turnstile verification failed: %s", exc)
        return False
    return isinstance(answer, dict) and answer.get("success") is True
