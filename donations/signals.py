"""How apps above donations hear about a gift, without donations importing them.

Sent inside the transaction that records the gift: a receiver's writes
commit or roll back with it.
"""

from __future__ import annotations

from django.dispatch import Signal

# Sent once per gift, when it is first recorded (a provider's webhook, the
# admin, ``record_donation``); not for a replay of the same reference, nor
# by the CSV import, which writes thousands at once. Arguments: donation.
donation_received = Signal()
