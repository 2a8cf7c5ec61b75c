"""Beat's relay: hands the broker what the fast path after commit could not (outbox/relay.py)."""

from __future__ import annotations

from celery import shared_task

from outbox import relay as outbox


@shared_task(ignore_result=True)
def relay_outbox() -> int:
    handed_over = outbox.relay()
    outbox.purge_sent()
    return handed_over
