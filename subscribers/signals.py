"""How apps above subscribers hear about a person, without subscribers importing them.

They connect receivers in their ``AppConfig.ready()`` (actions does), the way
``django.contrib.auth`` sends ``user_logged_in`` and lets other apps listen.
"""

from django.dispatch import Signal

# Sent by ``services.erase`` inside its transaction, before the address is
# replaced: receivers drop the person from their own rows. An exception
# rolls the whole erasure back, so nobody is left half-erased.
# Arguments: subscriber, email (the address being erased), replacement_email.
person_erased = Signal()

# Sent by ``services.export_personal_data``: each receiver returns a dict of
# JSON-ready sections ({"signatures": [...]}) added to the person's export.
# Arguments: subscriber.
personal_data_requested = Signal()
