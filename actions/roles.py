"""What the staff roles (campaigns/staff/roles.py) may do with actions.

- writers draft actions and their translations, read the targets and the
  report (counts only), but never see who signed;
- senders also open and close actions, see signatures and letters, export
  the report and the petitions, and keep the targets and districts up to date;
- admins have every permission already.

Roles are groups that ``ensure_roles()`` rebuilds after every ``migrate``.
No data migration: on a fresh database the actions' permissions only exist
after migrate (Django creates them in post_migrate), so the groups are
brought up to date by the post_migrate handler that ``ActionsConfig.ready()``
connects for this app, which runs after those permissions are made.
"""

from __future__ import annotations

from typing import Any

from campaigns.staff import roles

WRITER_PERMISSIONS = [
    "actions.add_action",
    "actions.change_action",
    "actions.view_action",
    "actions.add_actiontranslation",
    "actions.change_actiontranslation",
    "actions.delete_actiontranslation",
    "actions.view_actiontranslation",
    "actions.view_target",
    "actions.view_targetgroup",
    "actions.view_district",
    # The campaign form's audience by action (actions/admin/audiences.py).
    "actions.add_actedaudience",
    "actions.change_actedaudience",
    "actions.view_actedaudience",
]
SENDER_PERMISSIONS = [
    "actions.view_signature",
    "actions.view_letter",
    "actions.add_target",
    "actions.change_target",
    "actions.add_targetgroup",
    "actions.change_targetgroup",
    "actions.add_district",
    "actions.change_district",
    "actions.add_postalprefix",
    "actions.change_postalprefix",
    "actions.view_postalprefix",
]


def contribute() -> None:
    roles.contribute(roles.WRITER, WRITER_PERMISSIONS)
    roles.contribute(roles.SENDER, SENDER_PERMISSIONS)


def ensure_roles_after_migrate(sender: Any, **kwargs: Any) -> None:
    roles.ensure_roles()
