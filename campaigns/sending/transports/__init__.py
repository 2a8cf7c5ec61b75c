"""Where rendered messages leave Tocsin: one small interface, two kinds of transport.

- ``email_backend.EmailBackendTransport``: one message per call through
  Django's configured email backend — SMTP (with Tocsin's own MIME bytes and
  pipelined SMTP, ``smtp.py``) or any Anymail provider's ``send_messages``.
- ``postmark.PostmarkBatch``: up to 500 fully rendered messages in one HTTP
  call to Postmark's batch endpoint.

A transport never touches the ledger: the sender (``campaigns/sending/senders.py``)
claims the deliveries before a call and records the verdicts after it. That
is what lets letters, journeys or anything else reuse a transport with a
ledger of their own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from django.conf import settings
from django.core.mail import EmailMultiAlternatives

from campaigns.sending.outcomes import Classified


class Transport(Protocol):
    """Sends prepared messages; one verdict per message, in order."""

    # 1: one message per call (the sender claims each just before it goes); more: a provider's batch call.
    max_per_call: int

    def prepare(self, message: EmailMultiAlternatives, *, campaign_id: int, delivery_id: int) -> Any:
        """``message`` in this transport's own form, ready for ``send``.

        Raises for a message the transport can never send (an address the
        provider refuses, a header it cannot encode): that recipient fails,
        classified by ``outcomes.classify``.
        """
        ...

    def send(self, prepared: Sequence[Any]) -> list[Classified]:
        """One call with up to ``max_per_call`` prepared messages. Never raises for what the server answers."""
        ...

    def close(self) -> None: ...


def configured() -> tuple[Callable[[], Transport], int]:
    """The transport the settings choose (a factory: one per sender thread), and its messages per call."""
    from campaigns.sending.transports import email_backend, postmark

    if postmark.enabled():
        return postmark.PostmarkBatch, postmark.per_call()
    return email_backend.EmailBackendTransport, 1


def threads_for(per_call: int, configured_threads: int) -> int:
    """Sender threads per Celery batch: no more than there are calls in a batch to keep in flight."""
    calls = math.ceil(settings.TOCSIN_SEND_BATCH_SIZE / max(per_call, 1))
    return max(1, min(configured_threads, calls))
