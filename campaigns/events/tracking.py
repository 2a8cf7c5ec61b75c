"""First-party click and open tracking: signed redirect URLs and the open pixel.

A tracked link is ``/t/c/<token>/`` where the token (``django.core.signing``,
a salt of its own) carries the delivery id and the target URL: nothing is
stored per link, and because the target is inside the signature the redirect
can never be turned into an open redirect. The open pixel is
``/t/o/<token>.gif`` with a token carrying only the delivery id.

Privacy comes first (some readers are defenders and journalists at risk):
``tracking_allowed`` is False when the campaign, any of the person's lists in
the campaign, or the person has tracking off; the renderer then adds no pixel,
rewrites no link and asks the provider for no open/click tracking.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.urls import NoReverseMatch, reverse

from subscribers import tokens

_CLICK_SALT = "tocsin.tracking.click"
_OPEN_SALT = "tocsin.tracking.open"
_ALLOWED_SCHEMES = {"http", "https"}

_HREF_RE = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)


class InvalidTrackingToken(Exception):
    """Tampered, truncated, or carrying a URL we would not redirect to."""


def _signer(salt: str) -> signing.Signer:
    return signing.Signer(salt=salt)


def click_signer() -> tokens.FastSigner:
    """Signs click tokens (``sign_json`` of ``[delivery_id, url]``) as fast as the renderer needs."""
    return tokens.fast_signer(_CLICK_SALT)


def open_signer() -> tokens.FastSigner:
    return tokens.fast_signer(_OPEN_SALT)


def is_redirectable(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in _ALLOWED_SCHEMES and bool(parts.netloc) and not any(c in url for c in "\r\n\t")


def click_token(*, delivery_id: int, url: str) -> str:
    return _signer(_CLICK_SALT).sign_object([int(delivery_id), url])


def click_url(*, delivery_id: int, url: str) -> str:
    """The tracked version of ``url`` for one delivery (absolute, for emails)."""
    token = click_token(delivery_id=delivery_id, url=url)
    return settings.SITE_URL + reverse("campaigns:track_click", args=[token])


def read_click_token(token: str) -> tuple[int, str]:
    """(delivery id, target URL) from a click token, or InvalidTrackingToken."""
    try:
        delivery_id, url = _signer(_CLICK_SALT).unsign_object(token)
        delivery_id = int(delivery_id)
    except (signing.BadSignature, ValueError, TypeError):
        raise InvalidTrackingToken("this link is not valid") from None
    if not isinstance(url, str) or not is_redirectable(url):
        raise InvalidTrackingToken("this link does not lead anywhere we can send you")
    return delivery_id, url


@lru_cache(maxsize=1)
def _click_prefix() -> str:
    return reverse("campaigns:track_click", args=["x"]).removesuffix("x/")


def read_click_url(url: str) -> tuple[int, str] | None:
    """When ``url`` is one of our tracked links, (delivery id, target); else None.

    Providers that also track clicks report our redirect as the clicked link.
    """
    path = urlsplit(url).path if "://" in url else url
    prefix = _click_prefix()
    if not path.startswith(prefix):
        return None
    try:
        return read_click_token(path.removeprefix(prefix).rstrip("/"))
    except InvalidTrackingToken:
        return None


def open_token(*, delivery_id: int) -> str:
    return open_signer().sign(str(int(delivery_id)))


def open_pixel_url(*, delivery_id: int) -> str:
    return settings.SITE_URL + reverse("campaigns:track_open", args=[open_token(delivery_id=delivery_id)])


def read_open_token(token: str) -> int:
    try:
        return int(_signer(_OPEN_SALT).unsign(token))
    except (signing.BadSignature, ValueError):
        raise InvalidTrackingToken("this image is not valid") from None


def tracking_allowed(campaign, subscriber, lists: Iterable) -> bool:  # type: ignore[no-untyped-def]
    """Whether this person's copy of ``campaign`` may be tracked at all.

    ``lists`` are the person's lists among the campaign's; one list with
    tracking off is enough to turn it off (the strictest choice wins).
    """
    if not getattr(campaign, "tracking_enabled", True):
        return False
    if not getattr(subscriber, "tracking_allowed", True):
        return False
    return all(getattr(mailing_list, "tracking_enabled", True) for mailing_list in lists)


@lru_cache(maxsize=1)
def _untracked_prefixes() -> tuple[str, ...]:
    """Links that must stay as they are: leaving, preferences, confirmations, our own redirects."""
    site = settings.SITE_URL
    paths = []
    for name, arg in (
        ("subscribers:unsubscribe", "x"),
        ("subscribers:preferences", "x"),
        ("subscribers:confirm", "x"),
        ("campaigns:track_click", "x"),
    ):
        try:
            paths.append(reverse(name, args=[arg]).removesuffix("x/"))
        except NoReverseMatch:  # a route another module has not added yet
            continue
    return tuple(site + path for path in paths)


def rewrite_links(html_body: str, *, delivery_id: int) -> str:
    """Every http(s) link in ``html_body`` through our click redirect.

    Unsubscribe and preference links are left alone: leaving must never
    depend on the tracker, and a reader who checks where the link goes sees
    our own address. The plain-text part is never rewritten (readers copy
    those URLs by hand and should see where they lead).
    """
    skip = _untracked_prefixes()

    def replace(match: re.Match[str]) -> str:
        raw = match.group(3)
        url = html.unescape(raw).strip()
        if not is_redirectable(url) or url.startswith(skip):
            return match.group(0)
        tracked = html.escape(click_url(delivery_id=delivery_id, url=url))
        return f"{match.group(1)}{match.group(2)}{tracked}{match.group(2)}"

    return _HREF_RE.sub(replace, html_body)


def pixel_html(*, delivery_id: int) -> str:
    src = html.escape(open_pixel_url(delivery_id=delivery_id))
    return f'<img src="{src}" width="1" height="1" alt="" style="display:block;border:0;width:1px;height:1px">'


def add_open_pixel(html_body: str, *, delivery_id: int) -> str:
    """The pixel just before ``</body>`` (or at the end when there is none)."""
    pixel = pixel_html(delivery_id=delivery_id)
    index = html_body.lower().rfind("</body>")
    if index == -1:
        return html_body + pixel
    return html_body[:index] + pixel + html_body[index:]
