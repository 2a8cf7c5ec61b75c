"""What the staff roles (campaigns/staff/roles.py) may do with journeys.

- writers draft journeys: they create them (paused), edit a paused journey,
  its steps and its emails, and preview them, but never start or pause one,
  nor change one that is running (an edit there reaches people at once);
- senders also start and pause journeys (``ACTIVATE_PERMISSION``) and edit
  running ones;
- admins have every permission already.

As for actions (actions/roles.py): the groups are rebuilt by
``ensure_roles()`` in a post_migrate handler that ``JourneysConfig.ready()``
connects for this app, after Django has made the journeys' permissions (a data
migration would run before they exist on a fresh database). Migration
journeys 0002 adds ``activate_journey`` to the Journey model.
"""

from __future__ import annotations

from typing import Any

from campaigns.staff import roles

ACTIVATE_PERMISSION = "journeys.activate_journey"

WRITER_PERMISSIONS = [
    "journeys.add_journey",
    "journeys.change_journey",
    "journeys.view_journey",
    "journeys.add_step",
    "journeys.change_step",
    "journeys.delete_step",
    "journeys.view_step",
    "journeys.change_journeyemail",
    "journeys.view_journeyemail",
]
SENDER_PERMISSIONS = [ACTIVATE_PERMISSION]


def contribute() -> None:
    roles.contribute(roles.WRITER, WRITER_PERMISSIONS)
    roles.contribute(roles.SENDER, SENDER_PERMISSIONS)


def can_activate(user: Any) -> bool:
    return bool(user and user.is_active and user.has_perm(ACTIVATE_PERMISSION))


def ensure_roles_after_migrate(sender: Any, **kwargs: Any) -> None:
    roles.ensure_roles()
