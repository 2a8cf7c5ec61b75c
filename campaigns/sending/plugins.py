"""What the apps above campaigns add to a send: audience filters, per-recipient blocks, pre-send notes.

campaigns sits below donations, actions and journeys, so it never imports
them (``make lint`` refuses it). A higher app that shapes a campaign fills
this registry from its ``AppConfig.ready()`` instead::

    from campaigns.sending import plugins

    plugins.register_audience_filter("donations.donor_rules", donor_rules_sql)
    plugins.register_block(plugins.RecipientBlock(name="ask_ladder", ...))
    plugins.register_audience_note("actions.exclude_acted", acted_note)

Three kinds of contribution, each keyed by a unique dotted name (the app's
label first) so that registering twice replaces rather than duplicates:

- **audience filters** (``AudienceFilter``): SQL conditions ANDed to the
  audience's WHERE clause. The count shown before sending, the snapshot
  written into the ledger and the API's ``recipients`` all run the same
  filters (``campaigns/sending/audience.py``), so they never disagree.
  They shape campaigns only: a journey's email goes to whoever reached its
  step (``journeys/engine.py`` ``add_deliveries``: suppression, pauses and
  the frequency cap apply, these filters do not).
- **per-recipient blocks** (``RecipientBlock``): a piece of an email that
  differs per reader, e.g. an appeal's suggested amounts. The engine asks
  for the values of a whole chunk of recipients in one call; the renderer
  renders each distinct value once per language, inlines its CSS and signs
  its links like the rest of the email (``campaigns/sending/rendering.py``).
- **audience notes** (``AudienceNote``): one line each under the recipient
  count on the send page ("12 people who signed already are left out").

Contributions run in the order they were registered (app order in
``INSTALLED_APPS``). Nothing here is called per message except the lookup
of a block's value in a dict: the send rate does not depend on how many
apps plug in.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from campaigns.models import Campaign


class AudienceFilter(Protocol):
    """``(" AND …", params)``: conditions on subscriber rows aliased ``alias`` (``""``, ``[]`` for none).

    Every value must be a parameter; use ``connection.ops.quote_name`` for
    table names. Prefer ``EXISTS`` / ``NOT EXISTS`` over an indexed column
    keyed on ``{alias}.id``: the count runs on a million subscribers in
    under a second only if each filter is an index probe.
    """

    def __call__(self, campaign: Campaign, *, alias: str) -> tuple[str, list[Any]]: ...


@dataclass(frozen=True)
class BlockSource:
    """What a block's ``render`` gets besides its value: the email it goes into."""

    campaign: Campaign
    language: str  # the version being rendered; ``render`` runs inside ``translation.override(language)``
    cta_text: str  # the call-to-action's text in that language, on one line
    cta_url: str  # the call-to-action's link: absolute, with the campaign's attribution
    web: bool  # True for the public web version (no one's personal data)


@dataclass(frozen=True)
class RecipientBlock:
    """A piece of a campaign email that differs per recipient.

    The email templates place it where ``{{ blocks.<name> }}`` appears, and
    the template falls back to its own content when the block is absent
    (``{% if blocks.ask_ladder %}…{% else %}…{% endif %}``).
    """

    name: str  # the template variable under ``blocks``: letters, digits and "_"
    # Whether ``campaign`` has this block at all (cheap; asked once per renderer).
    applies: Callable[[Campaign], bool]
    # One call per chunk of recipients (about 200): subscriber id -> value. Values must be
    # hashable and few distinct ones are best: each is rendered once per language and cached.
    values_for: Callable[[Campaign, Sequence[int]], Mapping[int, Hashable]]
    # The value for a reader who is nobody in particular: previews, test sends, the web version.
    default: Callable[[Campaign], Hashable]
    # ``(html, text)`` for one value. The HTML is inlined with the email's stylesheet and its
    # links are tracked like the email's own; the text goes into the plain-text part as is.
    render: Callable[[Hashable, BlockSource], tuple[str, str]]


AudienceNote = Callable[[Campaign], str | None]
"""One line for the send page about the audience (e.g. who a filter leaves out), or None."""


_filters: dict[str, AudienceFilter] = {}
_blocks: dict[str, RecipientBlock] = {}
_notes: dict[str, AudienceNote] = {}


def register_audience_filter(name: str, audience_filter: AudienceFilter) -> None:
    """Add (or replace) the audience filter called ``name``."""
    _filters[name] = audience_filter


def register_block(block: RecipientBlock) -> None:
    """Add (or replace) the per-recipient block called ``block.name``."""
    if not block.name.isidentifier():
        raise ValueError(f"a block's name is a template variable: {block.name!r}")
    _blocks[block.name] = block


def register_audience_note(name: str, note: AudienceNote) -> None:
    """Add (or replace) the send page's audience note called ``name``."""
    _notes[name] = note


def unregister(name: str) -> None:
    """Remove every contribution called ``name`` (a filter, a block, a note); unknown names are ignored."""
    _filters.pop(name, None)
    _blocks.pop(name, None)
    _notes.pop(name, None)


def audience_filters() -> list[tuple[str, AudienceFilter]]:
    return list(_filters.items())


def blocks() -> list[RecipientBlock]:
    return list(_blocks.values())


def audience_notes(campaign: Campaign) -> list[str]:
    """Every registered note about ``campaign``'s audience, in registration order, the empty ones left out."""
    return [line for note in _notes.values() if (line := note(campaign))]
