"""How apps above actions hear about a signature, without actions importing them.

Sent inside the transaction that writes the signature: a receiver's writes
commit or roll back with it.
"""

from __future__ import annotations

from django.dispatch import Signal

# Sent once per new signature (petition or letter), not for a repeat by the
# same address. Arguments: signature (its letters already written).
action_signed = Signal()
