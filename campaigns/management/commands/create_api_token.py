"""``manage.py create_api_token --user USERNAME``: a new API token, printed last."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError, CommandParser

from campaigns.api.auth import create_token
from campaigns.staff import audit
from subscribers.management.base import TocsinCommand


class Command(TocsinCommand):
    help = "Create a JSON API token for a staff user. The token is shown once, on the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="Username the token acts as (with that user's role).")
        parser.add_argument("--name", default="", help="A label to recognise the token by, e.g. 'website sign-up'.")

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        user = User.objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"No user named {options['user']!r}.")
        if not user.is_active:
            raise CommandError(f"User {options['user']!r} is not active.")
        token, secret = create_token(user=user, name=options["name"] or "created with create_api_token")
        audit.record(actor=user, action=audit.TOKEN_CREATED, detail=f"token #{token.pk} {token.name}")
        self.stderr.write(
            f"Token #{token.pk} for {user.get_username()} created. Only a hash is stored: copy it now, "
            "it cannot be shown again."
        )
        self.stdout.write(secret)
