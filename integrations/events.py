"""The events an endpoint can subscribe to, and the test event staff send from the admin."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

EVENTS = {
    "subscriber.confirmed": _("A person confirmed their subscription"),
    "subscriber.updated": _("A person changed their preferences"),
    "subscriber.unsubscribed": _("A person unsubscribed from everything"),
    "subscriber.bounced": _("A person's address bounced"),
    "subscriber.complained": _("A person marked an email as spam"),
    "subscriber.erased": _("A person was erased (only their id is sent)"),
    "donation.received": _("A donation was recorded"),
    "action.signed": _("Someone signed a petition or sent a letter"),
    "campaign.sent": _("A campaign finished sending"),
}
# Sent by "send a test event" in the admin, whatever the endpoint subscribes to.
TEST_EVENT = "webhook.test"


def unknown_events(names: list[str]) -> list[str]:
    return [name for name in names if name not in EVENTS]
