"""Content-Security-Policy on every response: django-csp's middleware, two policies.

Public pages (sign-up, preference centre, unsubscribe, articles) run no script
of ours and no inline style: the policy is ``CONTENT_SECURITY_POLICY`` in
settings, strict, so an injected ``<script>`` or a stray ``on…=`` handler in
an article or a supporter's name does nothing. Cloudflare Turnstile's origin
is added only while the CAPTCHA is on.

The admin gets ``TOCSIN_ADMIN_CSP``: scripts only from our own static files
(Django's admin has no inline script, nor do ours), but inline styles
allowed, because the campaign preview shows the email itself in a
``srcdoc`` frame (which inherits this policy), and an email is all
``style=""`` attributes (inlined CSS for mail clients).

Views with needs of their own say so on their response: the web version of
a bulletin is an email too (``allow_inline_styles``); the embed page shows
the snippet staff paste elsewhere (``allow_style_attributes``).
"""

from __future__ import annotations

import base64
import hashlib
import html as html_lib
import re
from typing import Any, TypeVar

from csp.constants import UNSAFE_HASHES, UNSAFE_INLINE
from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.urls import reverse

R = TypeVar("R", bound=HttpResponseBase)
TURNSTILE_ORIGIN = "https://challenges.cloudflare.com"
_STYLE_ATTRIBUTE = re.compile(r"""\sstyle\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)


def _turnstile_on() -> bool:
    return bool(settings.TURNSTILE_SITE_KEY and settings.TURNSTILE_SECRET_KEY)


class TocsinCSPMiddleware(CSPMiddleware):
    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only=report_only)
        if report_only:
            return parts
        if parts.config is None and request.path_info.startswith(reverse("admin:index")):
            parts.config = settings.TOCSIN_ADMIN_CSP
        elif _turnstile_on():
            # Turnstile's script, and the frame it draws the challenge in.
            parts.update = _merge(parts.update, {"script-src": [TURNSTILE_ORIGIN], "frame-src": [TURNSTILE_ORIGIN]})
        return parts


def _merge(update: dict[str, Any] | None, extra: dict[str, list[str]]) -> dict[str, Any]:
    merged: dict[str, Any] = {key: list(value) for key, value in (update or {}).items()}
    for key, values in extra.items():
        merged[key] = [*merged.get(key, []), *values]
    return merged


def allow_inline_styles(response: R) -> R:
    """For a page that is an email (its CSS inlined as style attributes and <style> blocks)."""
    response._csp_update = _merge(getattr(response, "_csp_update", None), {"style-src": [UNSAFE_INLINE]})  # type: ignore[attr-defined]
    return response


def allow_style_attributes(response: R, html: str) -> R:
    """Allow exactly the ``style=""`` attributes found in ``html``, by their hashes (CSP 3 'unsafe-hashes')."""
    hashes = sorted(
        {
            "'sha256-" + base64.b64encode(hashlib.sha256(html_lib.unescape(a or b).encode()).digest()).decode() + "'"
            for a, b in _STYLE_ATTRIBUTE.findall(html)
        }
    )
    if hashes:
        response._csp_update = _merge(  # type: ignore[attr-defined]
            getattr(response, "_csp_update", None), {"style-src": [UNSAFE_HASHES, *hashes]}
        )
    return response
