"""``manage.py issue_backup_code --user USERNAME``: a single-use 8-digit backup code, printed last.

For the operator, when nobody who manages staff accounts in the admin can
(the first administrator, or the only one lost their phone). The person logs
in with it and then sets up an authenticator app. Written to the audit log.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError, CommandParser

from campaigns.staff.two_factor import give_backup_code
from subscribers.management.base import TocsinCommand


class Command(TocsinCommand):
    help = (
        "Issue a staff user a single-use 8-digit backup code, to log in with and set up an authenticator app "
        "(replaces their earlier unused code). The code is shown once, on the last line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="Username of the staff member.")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"No user named {options['user']!r}.")
        if not user.is_active:
            raise CommandError(f"User {options['user']!r} is not active.")
        code = give_backup_code(user=user, issued_by=None)
        self.stderr.write(
            f"Backup code for {user.get_username()}: give it to them in person or by phone. It works once; "
            "then they set up an authenticator app at /admin/2fa/setup/."
        )
        self.stdout.write(code)
