"""Where a webhook may go: never the server's own network, unless the operator says so.

A URL staff or an API token register makes this server send requests: aimed
at 127.0.0.1, 10.0.0.0/8 or 169.254.169.254 (a cloud's metadata service) it
would reach what the internet cannot (SSRF). So the host's addresses are
checked when an endpoint is registered and again at each send, and the
request goes to the very address that was checked: a name that resolved to
a public address for the check and to 127.0.0.1 a moment later (DNS
rebinding) never gets a request.

``TOCSIN_WEBHOOK_ALLOW_PRIVATE=1`` lifts the check (a CRM on the same
network, the test suite); plain http is allowed then too, and with DEBUG.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.utils.translation import gettext as _

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeUrl(ValueError):
    """The URL may not receive webhooks; the message says why, for staff."""


@dataclass(frozen=True)
class Target:
    """Where one request goes: the checked address, and the name for Host and TLS."""

    scheme: str
    host: str
    port: int
    path: str
    address: str


def private_allowed() -> bool:
    return bool(settings.TOCSIN_WEBHOOK_ALLOW_PRIVATE)


def forbidden(address: IPAddress) -> bool:
    """Private, loopback, link-local, multicast, reserved, unspecified, or not global."""
    mapped = getattr(address, "ipv4_mapped", None) or getattr(address, "sixtofour", None)
    if mapped is not None:
        return forbidden(mapped)
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def _split(url: str) -> tuple[str, str, int, str]:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise UnsafeUrl(_("This is not a valid URL.")) from None
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if scheme not in ("http", "https") or not host:
        raise UnsafeUrl(_("Use an http or https URL with a host name."))
    if parts.username or parts.password:
        raise UnsafeUrl(_("Put no user name or password in the URL: requests are signed instead."))
    if scheme == "http" and not (settings.DEBUG or private_allowed()):
        raise UnsafeUrl(_("Use https: webhooks carry supporters' addresses."))
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, host, port or (443 if scheme == "https" else 80), path


def _addresses(host: str, port: int) -> list[IPAddress]:
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise UnsafeUrl(_("The host name %(host)s does not resolve.") % {"host": host}) from None
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in found:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise UnsafeUrl(_("The host name %(host)s does not resolve.") % {"host": host})
    return addresses


def resolve(url: str) -> Target:
    """The URL's parts and the address to connect to; UnsafeUrl when it may not be used.

    Every address the name resolves to must be public: checking only the
    first would let a name with one public and one private address through.
    """
    scheme, host, port, path = _split(url)
    addresses = _addresses(host, port)
    if not private_allowed():
        bad = [str(address) for address in addresses if forbidden(address)]
        if bad:
            raise UnsafeUrl(
                _("%(host)s is a private, loopback or reserved address (%(addresses)s): webhooks may not go there.")
                % {"host": host, "addresses": ", ".join(bad)}
            )
    return Target(scheme=scheme, host=host, port=port, path=path, address=str(addresses[0]))


def check_url(url: str) -> str:
    """The URL, stripped, when it may receive webhooks (at registration); UnsafeUrl otherwise."""
    resolve(url)
    return url.strip()


def public_host(url: str) -> str:
    """Only the host and port: the audit log's name for an endpoint (a receiver may keep a token in the path)."""
    return urlsplit(public_url(url)).netloc


def public_url(url: str) -> str:
    """The endpoint's URL without what may be a secret: credentials, query and fragment."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:  # a URL written before the checks; the export must still answer
        port = None
    netloc = f"{host}:{port}" if port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
