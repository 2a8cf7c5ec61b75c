"""Actions in the admin: targets (with the CSV import), districts, actions, signatures, letters.

The targets import (django-import-export) shows a dry run first: every row
with its values, old and new for a target that already exists, and a
per-row error report; "Confirm import" appears only for a file with no bad
row and commits it in one transaction. Rows go through the same checks as
``manage.py import_targets`` (actions/importing/).
"""

from actions.admin import (
    action_pages,  # noqa: F401  (registers ActionAdmin)
    audiences,  # noqa: F401  (adds the audience by action to the campaign form)
    signatures,  # noqa: F401  (registers SignatureAdmin, LetterAdmin)
    targets,  # noqa: F401  (registers the targets, groups, districts and postal prefixes)
)
