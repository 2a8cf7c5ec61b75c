"""How apps above subscribers hear about a person, without subscribers importing them.

They connect receivers in their ``AppConfig.ready()`` (campaigns, donations
and actions do), the way ``django.contrib.auth`` sends ``user_logged_in`` and
lets other apps listen. Every signal here is sent inside the transaction of
the change: a receiver's writes commit or roll back with it, and a receiver
that raises undoes the whole change, so nobody is left half-done.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.dispatch import Signal

from subscribers.models import Subscriber

# Sent whenever someone must receive nothing more: they left every list, their
# address was suppressed (bounce, complaint, staff) or they were erased.
# Receivers stop what is already queued for them (campaigns skips their queued
# deliveries, so leaving takes effect within seconds even mid-send).
# Arguments: subscriber_id.
person_left = Signal()

# Sent when a person's own unsubscribe from everything is recorded (not sent
# again for a repeat click). Receivers credit it (campaigns counts it against
# the campaign that prompted it). Arguments: subscriber_id, channel (a
# ``Consent.Channel``), when.
unsubscribed = Signal()

# Sent when a person becomes confirmed: a confirmation link followed, or a
# sign-up without double opt-in (API, an action's opt-in). Not sent by the
# CSV import, which confirms thousands at once. Arguments: subscriber.
person_confirmed = Signal()

# Sent when a person changes their preferences (lists, language, name,
# tracking, a pause) or leaves some lists. Arguments: subscriber, changes
# (short phrases: "lists added", "language"…).
person_updated = Signal()

# Sent when a bounce, a complaint, a provider's or staff's unsubscribe moves a
# person to bounced, complained or unsubscribed (only on that change).
# Arguments: subscriber, reason (a ``Suppression.Reason``).
person_suppressed = Signal()

# Sent when subscriptions become confirmed: the person confirmed a sign-up
# (the link in the email) or the API subscribed them without double opt-in.
# Never sent by the CSV import, which writes people in bulk (an import is old
# consent moved in, not a new supporter). Receivers start what follows a new
# sign-up (journeys enrol the person). Arguments: subscriber_id, list_ids (the
# lists newly confirmed), source (a ``Consent.Source``).
subscription_confirmed = Signal()

# Sent when a person leaves some lists but not everything (the unsubscribe
# page for one list, the preference centre). Leaving everything sends
# ``person_left`` instead. Arguments: subscriber_id, list_ids.
subscriptions_ended = Signal()

# Sent by ``services.erase`` before the address is replaced: receivers drop
# the person from their own rows. Arguments: subscriber, email (the address
# being erased), replacement_email.
person_erased = Signal()

# Sent by ``services.export_personal_data``: each receiver returns a dict of
# JSON-ready sections ({"signatures": [...]}) added to the person's export.
# Arguments: subscriber.
personal_data_requested = Signal()

# Sent when staff export, erase or import people: a receiver writes it to the
# audit log (campaigns' staff audit). Arguments: actor, action, detail.
staff_acted = Signal()


def log_staff_action(*, actor: Any, action: str, detail: str) -> None:
    """Have the audit log record what staff did to people, or refuse to go on.

    Call it inside the transaction of the action (before any file is handed
    out): an export that nobody logged must not leave the server.
    """
    if not staff_acted.send(sender=Subscriber, actor=actor, action=action, detail=detail):
        raise ImproperlyConfigured("nothing records staff actions on people (no receiver for staff_acted)")
