"""How apps above actions hear about a signature, without actions importing them.

Sent inside the transaction that writes the signature: a receiver's writes
commit or roll back with it.
"""

from __future__ import annotations

from django.dispatch import Signal

# Sent once per new signature (petition or letter), not for a repeat by the
# same address. Arguments: signature (its letters already written).
action_signed = Signal()

# Sent by ``services.erase_signatures`` (the signatures admin, or a subscriber's
# erasure) in its transaction, once a person's signatures no longer name them:
# apps above drop the person from what they keep. Arguments: email (the address
# erased), subscriber_id (None for a signer who never became a subscriber).
signatures_erased = Signal()
