"""A transport for Postmark's batch API: many fully rendered messages in ONE HTTP call.

Why not Anymail's own batch sending: Anymail batches one ``EmailMultiAlternatives``
with per-recipient ``merge_data`` / ``merge_metadata`` / ``merge_headers`` —
the subject and bodies are shared and only a provider-side template can vary
them. Tocsin renders every body itself (names, signed unsubscribe and
tracking links), so each recipient's message is different. Postmark's
``POST /email/batch`` takes up to 500 *independent* messages per call, which
is exactly that; Anymail just has no API for "a list of messages". So this
module builds each element with Anymail's own Postmark payload builder
(headers, metadata, tag, tracking flags, reply-to, message stream are
therefore identical to what ``send_messages`` would post to ``/email``) and
posts the list itself.

The ledger discipline (``campaigns/sending/ledger.py``) is the same as for
one message at a time, per call instead of per message (the sender,
``campaigns/sending/senders.py``, does it):

- the group's deliveries are claimed (``queued → sending``) by one
  conditional UPDATE that is committed BEFORE the call;
- the call runs outside any transaction;
- every outcome of the call is recorded in one transaction afterwards.

A worker killed mid-call leaves exactly that call's messages in ``sending``
(the sweeper makes them ``unknown``), which the SPEC allows ("one provider
batch call"). Rendering happens before the claim, so a crash while rendering
leaves the rows ``queued`` and they are sent later, once.

Outcomes of one call (``campaigns/sending/outcomes.py`` reads each answer):

- HTTP 200 and a list with one answer per message, in order (Postmark's
  contract): ``ErrorCode`` 0 → sent, with its ``MessageID``; 406 (inactive
  recipient) and 300 about the ``To`` address → failed and suppressed; 300
  about anything else → failed (our message is wrong); any other code →
  back to the queue (not sent: only code 0 sends), and the batch retries
  with back-off, pausing the campaign after N failures in a row;
- 408, 429, 5xx, 401/403 (a bad token is an outage of ours), 422 for the
  whole call: nothing was sent → all back to the queue, same back-off;
- no connection could be made → all back to the queue;
- the request went out but the answer was lost (read timeout, reset) or
  makes no sense (not JSON, wrong length, another address) → ``unknown``:
  the provider may have sent them, so they are never re-sent blindly.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache, partial
from typing import Any
from urllib.parse import urljoin

import requests
from django.conf import settings
from django.core.mail import EmailMultiAlternatives

from campaigns.sending import outcomes
from campaigns.sending.outcomes import Classified, Outcome

# One message of a call: the JSON object for it, and the server token it goes with.
Element = tuple[dict[str, Any], str]

# Providers whose batch endpoint takes independent messages, and its documented maximum per call.
MAX_PER_CALL = {"postmark": 500}


def enabled() -> bool:
    """Whether campaign batches go through a provider batch call (``TOCSIN_SEND_ESP_BATCH`` > 1)."""
    return settings.ESP in MAX_PER_CALL and per_call() > 1


def per_call() -> int:
    return min(int(getattr(settings, "TOCSIN_SEND_ESP_BATCH", 100)), MAX_PER_CALL.get(settings.ESP, 1))


@lru_cache(maxsize=64)
def _parsed_addresses(addresses: tuple[str, ...], field: str) -> list[Any]:
    from anymail.utils import parse_address_list

    return parse_address_list(list(addresses), field=field)


def _same_addresses(value: Any, *, field: str) -> list[Any]:
    """Anymail's ``parse_address_list``, memoized for the From and Reply-To every message of a campaign shares.

    Parsing addresses with the ``email`` package was the largest part of
    building a payload (profiled: ~40% of 0.31 ms per message).
    """
    from anymail.utils import parse_address_list

    items = [value] if isinstance(value, str) else value
    if isinstance(items, list | tuple) and all(type(item) is str for item in items):
        return _parsed_addresses(tuple(items), field)
    return parse_address_list(value, field=field)


def _payload_class() -> type:
    """Anymail's PostmarkPayload with the From and Reply-To parsing memoized; every other field untouched."""
    from anymail.backends.postmark import PostmarkPayload

    class Payload(PostmarkPayload):
        base_message_attrs = tuple(
            (attr, combiner, partial(_same_addresses, field=attr) if attr in ("from_email", "reply_to") else converter)
            for attr, combiner, converter in PostmarkPayload.base_message_attrs
        )

    return Payload


class PostmarkBatch:
    """``POST /email/batch`` with elements built by Anymail's Postmark backend."""

    endpoint = "email/batch"
    max_per_call: int

    def __init__(self) -> None:
        from anymail.backends.postmark import EmailBackend

        self.backend = EmailBackend(fail_silently=False)
        self.backend.open()  # a requests.Session with Anymail's User-Agent, kept alive between calls
        self.url = urljoin(self.backend.api_url, self.endpoint)
        self.max_per_call = per_call()
        self._serializer: Any = None
        self._payload = _payload_class()

    def prepare(
        self, message: EmailMultiAlternatives, *, campaign_id: int, delivery_id: int
    ) -> tuple[dict[str, Any], str]:
        """(the JSON object Anymail would post to ``/email`` for ``message``, its server token).

        Raises what Anymail raises for a message it cannot send (an invalid
        address, an unsupported feature): the caller records that message as failed.
        """
        # What EmailBackend.build_message_payload() does, with the faster address parsing.
        payload = self._payload(message, self.backend.send_defaults, self.backend)
        if self._serializer is None:
            self._serializer = payload  # its serialize_json() is Anymail's json.dumps, with its error context
        return payload.data, payload.server_token

    def send(self, prepared: Sequence[Element]) -> list[Classified]:
        """Post one call; one verdict per element, in order. Never raises for what the provider does."""
        if not prepared:
            return []
        elements = [element for element, _token in prepared]
        token = prepared[-1][1]
        body = self._serializer.serialize_json(list(elements))
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "X-Postmark-Server-Token": token,
        }
        try:
            response = self.backend.session.post(self.url, data=body, headers=headers, timeout=self.backend.timeout)
        except requests.RequestException as exc:
            return [outcomes.lost_call(exc, provider="Postmark")] * len(elements)
        if response.status_code != 200:
            # A whole-call refusal sends nothing: retry, and let N of them in a row pause the campaign
            # with this reason rather than mark every recipient of the list failed.
            error = f"Postmark batch call: HTTP {response.status_code} {response.text[:300]}"
            return _all(elements, Outcome.RETRY, error)
        try:
            answers = response.json()
        except ValueError:
            answers = None
        if not isinstance(answers, list) or len(answers) != len(elements):
            return _all(elements, Outcome.UNKNOWN, f"Postmark batch call: unreadable answer {response.text[:200]!r}")
        verdicts = [outcomes.postmark_verdict(one, element) for one, element in zip(answers, elements, strict=True)]
        if any(v is None for v in verdicts):
            # One answer that does not match its message (another address, no MessageID):
            # the order cannot be trusted, so no answer of this call can be.
            return _all(elements, Outcome.UNKNOWN, f"Postmark batch call: inconsistent answer {response.text[:200]!r}")
        return verdicts  # type: ignore[return-value]

    def close(self) -> None:
        self.backend.close()


def _all(elements: Sequence[Any], outcome: str, error: str) -> list[Classified]:
    """The same verdict for every message of a call (one shared object: nobody mutates a verdict)."""
    return [Classified(outcome, error=error)] * len(elements)
