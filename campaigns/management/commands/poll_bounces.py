"""manage.py poll_bounces [--mailbox URL] — read the bounce mailbox once and record what is in it.

The mailbox is ``TOCSIN_BOUNCE_MAILBOX`` unless ``--mailbox`` names another
(``imaps://user:password@host/INBOX`` or ``pop3s://user:password@host``). Beat
runs the same every ``TOCSIN_BOUNCE_POLL_SECONDS`` when the setting is there.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser

from campaigns.events.bounces.mailbox import MailboxError, poll
from subscribers.management.base import TocsinCommand


class Command(TocsinCommand):
    help = "Read every message in the bounce mailbox (TOCSIN_BOUNCE_MAILBOX), record it, then delete it there."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--mailbox", default="", help="imaps://user:password@host/INBOX or pop3s://…")

    def handle(self, *args: Any, **options: Any) -> None:
        url = options["mailbox"] or settings.TOCSIN_BOUNCE_MAILBOX
        if not url:
            raise CommandError("no mailbox: set TOCSIN_BOUNCE_MAILBOX or pass --mailbox")
        try:
            result = poll(url)
        except (MailboxError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        for outcome in result.outcomes:
            self.stdout.write(str(outcome))
        self.stdout.write(
            f"{len(result.outcomes)} message(s): {result.count('recorded')} recorded, "
            f"{result.count('duplicate')} already recorded, {result.count('ignored')} ignored"
        )
