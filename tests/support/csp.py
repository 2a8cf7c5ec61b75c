"""Read a page the way a browser applies its Content-Security-Policy: what would be blocked.

``blocked_on(response)`` parses the response's own policy header and feeds
its HTML to ``PolicyReader``, which lists every inline script, ``on…=``
handler, style, or script/frame/form target from an origin the policy does not
allow (tests/test_csp.py, the API docs page, the action pages).
"""

from __future__ import annotations

import base64
import hashlib
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

ORIGIN = "http://testserver"


def parse_policy(header: str) -> dict[str, list[str]]:
    policy = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            policy[words[0]] = words[1:]
    return policy


def sources(policy: dict[str, list[str]], directive: str) -> list[str]:
    fallbacks = {"script-src-elem": "script-src", "script-src-attr": "script-src", "frame-src": "child-src"}
    while directive not in policy:
        directive = fallbacks.get(directive) or "default-src"
        if directive == "default-src" and "default-src" not in policy:
            return ["*"]
    return policy[directive]


def allows_url(allowed: list[str], url: str) -> bool:
    target = urlsplit(urljoin(ORIGIN + "/", url))
    origin = f"{target.scheme}://{target.netloc}"
    return (
        "*" in allowed
        or f"{target.scheme}:" in allowed
        or origin in allowed
        or ("'self'" in allowed and origin == ORIGIN)
    )


def digest(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


class PolicyReader(HTMLParser):
    """What in a page the policy would block, as a browser applies it."""

    def __init__(self, policy: dict[str, list[str]]) -> None:
        super().__init__(convert_charrefs=True)
        self.policy = policy
        self.blocked: list[str] = []
        self._in_inline_script = False
        self._in_style = False

    def _inline_ok(self, directive: str, nonce: str | None, text: str = "") -> bool:
        allowed = sources(self.policy, directive)
        return (
            "'unsafe-inline'" in allowed
            or (nonce is not None and f"'nonce-{nonce}'" in allowed)
            or (bool(text) and digest(text) in allowed and not directive.endswith("-attr"))
        )

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = {name: value or "" for name, value in attrs}
        for name, value in named.items():
            self._check_attribute(tag, name, value)
        if tag == "script":
            if "src" in named:
                if not allows_url(sources(self.policy, "script-src-elem"), named["src"]):
                    self.blocked.append(f"script from {named['src']}")
            elif not self._inline_ok("script-src-elem", named.get("nonce")):
                self._in_inline_script = True
        if tag == "style" and not self._inline_ok("style-src", named.get("nonce")):
            self._in_style = True
        self._check_loaded(tag, named)

    def _check_attribute(self, tag: str, name: str, value: str) -> None:
        if name.startswith("on"):
            self.blocked.append(f"<{tag} {name}>: inline event handler")
        if name == "style" and not (
            "'unsafe-inline'" in sources(self.policy, "style-src")
            or (
                "'unsafe-hashes'" in sources(self.policy, "style-src")
                and digest(value) in sources(self.policy, "style-src")
            )
        ):
            self.blocked.append(f"<{tag} style={value!r}>: inline style attribute")
        if name in {"href", "action", "src"} and value.strip().lower().startswith("javascript:"):
            self.blocked.append(f"<{tag} {name}=javascript:>")

    def _check_loaded(self, tag: str, named: dict[str, str]) -> None:
        """Stylesheets, frames and form targets the policy must allow."""
        if (
            tag == "link"
            and named.get("rel") == "stylesheet"
            and not allows_url(sources(self.policy, "style-src"), named["href"])
        ):
            self.blocked.append(f"stylesheet from {named['href']}")
        if tag == "iframe" and "src" in named and not allows_url(sources(self.policy, "frame-src"), named["src"]):
            self.blocked.append(f"frame of {named['src']}")
        if (
            tag == "form"
            and named.get("action")
            and not allows_url(self.policy.get("form-action", ["*"]), named["action"])
        ):
            self.blocked.append(f"form posting to {named['action']}")

    def handle_data(self, data: str) -> None:
        if self._in_inline_script and data.strip():
            self.blocked.append(f"inline script: {data.strip()[:60]!r}")
        if self._in_style and data.strip():
            self.blocked.append(f"inline <style>: {data.strip()[:60]!r}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_inline_script = False
        if tag == "style":
            self._in_style = False


def blocked_on(response) -> tuple[dict[str, list[str]], list[str]]:  # type: ignore[no-untyped-def]
    assert "Content-Security-Policy" in response, f"no policy on {response.request['PATH_INFO']}"
    policy = parse_policy(response["Content-Security-Policy"])
    reader = PolicyReader(policy)
    reader.feed(response.content.decode())
    return policy, reader.blocked
