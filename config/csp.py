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
from functools import cache
from typing import Any, TypeVar

from csp.constants import HEADER, UNSAFE_HASHES, UNSAFE_INLINE
from csp.middleware import CheckableLazyObject, CSPMiddleware, PolicyParts
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponseBase
from django.urls import reverse

R = TypeVar("R", bound=HttpResponseBase)
_RESPONSE_CHANGES = tuple(
    f"_csp_{kind}{suffix}" for kind in ("config", "update", "replace", "exempt") for suffix in ("", "_ro")
)
TURNSTILE_ORIGIN = "https://challenges.cloudflare.com"
_STYLE_ATTRIBUTE = re.compile(r"""\sstyle\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)


def _turnstile_on() -> bool:
    return bool(settings.TURNSTILE_SITE_KEY and settings.TURNSTILE_SECRET_KEY)


# The public policy as a header, built once per process (and CAPTCHA setting):
# django-csp copies and joins the whole policy on every response otherwise.
_built: dict[bool, str] = {}


@receiver(setting_changed)
def _forget_built_policy(**_kwargs: Any) -> None:
    _built.clear()
    _admin_prefix.cache_clear()


@cache
def _admin_prefix() -> str:
    return reverse("admin:index")


class TocsinCSPMiddleware(CSPMiddleware):
    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if not self._plain(request, response):
            return super().process_response(request, response)
        turnstile = _turnstile_on()
        header = _built.get(turnstile)
        if header is None:
            parts = self.get_policy_parts(request, response)
            header = _built[turnstile] = build_policy(config=parts.config, update=parts.update)
        if header and HEADER not in response:
            response[HEADER] = header
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)  # type: ignore[attr-defined]
        return response

    @staticmethod
    def _plain(request: HttpRequest, response: HttpResponseBase) -> bool:
        """Whether it gets just the public policy: no nonce, no changes by the view, no report-only, no admin."""
        return not (
            getattr(request, "_csp_nonce", None) is not None
            or any(hasattr(response, name) for name in _RESPONSE_CHANGES)
            or (settings.DEBUG and response.status_code in (404, 500))
            or (getattr(settings, "CONTENT_SECURITY_POLICY", None) or {}).get("EXCLUDE_URL_PREFIXES")
            or getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None)
            or request.path_info.startswith(_admin_prefix())
        )

    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only=report_only)
        if report_only:
            return parts
        if parts.config is None and request.path_info.startswith(_admin_prefix()):
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
