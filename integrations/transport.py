"""One HTTP POST to a checked address: short timeouts, no redirects, a bounded answer.

urllib3's pool is opened on the IP address ``addresses.resolve`` checked,
with the URL's host name in the Host header and for TLS (SNI and the
certificate check): the request cannot land anywhere the check did not see.
Redirects are not followed (a 3xx is a failed attempt, like any non-2xx):
following one would send the signed body to an address nobody checked.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import urllib3
from django.conf import settings

from integrations.addresses import Target

# What is kept of a receiver's answer for staff to read.
RESPONSE_KEEP_CHARS = 2000
_READ_CHUNK = 1024


@dataclass(frozen=True)
class Answer:
    status: int
    body: str

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class TransportError(Exception):
    """No HTTP answer: refused, timed out, TLS failed…; the message says which."""


def _pool(target: Target, timeout: urllib3.Timeout) -> urllib3.HTTPConnectionPool:
    if target.scheme == "https":
        return urllib3.HTTPSConnectionPool(
            target.address,
            target.port,
            timeout=timeout,
            retries=False,
            maxsize=1,
            server_hostname=target.host,
            assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED",
        )
    return urllib3.HTTPConnectionPool(target.address, target.port, timeout=timeout, retries=False, maxsize=1)


def _read_some(response: urllib3.BaseHTTPResponse, *, deadline: float) -> str:
    """The first RESPONSE_KEEP_CHARS of the answer at most, and no longer than the deadline allows."""
    kept = b""
    while len(kept) < RESPONSE_KEEP_CHARS * 4 and time.monotonic() < deadline:
        chunk = response.read(_READ_CHUNK)
        if not chunk:
            break
        kept += chunk
    return kept.decode("utf-8", "replace")[:RESPONSE_KEEP_CHARS]


def post(target: Target, body: bytes, headers: dict[str, str]) -> Answer:
    """POST ``body``; the status and the start of the answer, or TransportError."""
    seconds = float(settings.TOCSIN_WEBHOOK_TIMEOUT)
    deadline = time.monotonic() + 2 * seconds
    host = target.host if target.port in (80, 443) else f"{target.host}:{target.port}"
    pool = _pool(target, urllib3.Timeout(connect=seconds, read=seconds))
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers={**headers, "Host": host},
            redirect=False,
            preload_content=False,
            assert_same_host=False,
        )
        try:
            return Answer(status=response.status, body=_read_some(response, deadline=deadline))
        finally:
            response.release_conn()
    except urllib3.exceptions.HTTPError as error:
        raise TransportError(_describe(error)) from None
    finally:
        pool.close()


def _describe(error: urllib3.exceptions.HTTPError) -> str:
    if isinstance(error, urllib3.exceptions.TimeoutError):
        return f"timed out after {settings.TOCSIN_WEBHOOK_TIMEOUT} s"
    reason = getattr(error, "reason", None) or error
    return f"{type(error).__name__}: {reason}"[:500]
