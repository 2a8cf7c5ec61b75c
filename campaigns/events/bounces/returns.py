"""Bounces of mail that is not a campaign's: the handlers apps above campaigns register, by VERP kind.

actions sends letters and digests to targets with a ledger of its own; their
envelope senders carry a VERP token of their kind (``verp.token_for(id,
kind="letter")``). campaigns must not import actions, so actions registers,
in its ``AppConfig.ready()``, what a bounce of each of its kinds does;
``ingest`` calls it with the row the token names and what the message says.
A kind nobody registered is ignored, like a message without a token.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from campaigns.events.bounces import verp
from campaigns.events.bounces.reading import Report


@dataclass(frozen=True)
class Outcome:
    """What became of one message: ``recorded``, ``duplicate``, ``ignored`` (with why)."""

    result: str
    detail: str
    delivery_id: int | None = None
    kind: str = verp.CAMPAIGN  # what ``delivery_id`` names: a campaign's delivery, or a row of that kind

    def __str__(self) -> str:
        target = f" ({self.kind or 'delivery'} {self.delivery_id})" if self.delivery_id else ""
        return f"{self.result}{target}: {self.detail}"


# (the row's id, the report, the raw message) -> what became of it; runs in ingest's process, once per message.
Handler = Callable[[int, Report, bytes], Outcome]
_HANDLERS: dict[str, Handler] = {}


def register(kind: str, handler: Handler) -> None:
    """Let ``handler`` deal with bounces whose VERP token is of ``kind`` (called from ``AppConfig.ready()``)."""
    if not kind:
        raise ValueError("a campaign's own deliveries are campaigns' to record")
    verp.token_for(1, kind=kind)  # a kind a token can carry, or ValueError
    _HANDLERS[kind] = handler


def handler_for(kind: str) -> Handler | None:
    return _HANDLERS.get(kind)
