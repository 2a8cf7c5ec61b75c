"""Every change to a supporter's state goes through these functions.

- ``signup``: subscribe, confirm, record consent
- ``leaving``: unsubscribe, suppress, preferences, erasure
- ``maintenance``: purging unconfirmed sign-ups
"""

from subscribers.services.maintenance import purge_unconfirmed

__all__ = ["purge_unconfirmed"]
