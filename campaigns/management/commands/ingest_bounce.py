"""manage.py ingest_bounce < MESSAGE — record one returned message (a DSN, a provider's bounce, an ARF report).

Meant for a mail server's pipe (Postfix: ``bounces: "|/path/to/.venv/bin/python
/path/to/manage.py ingest_bounce"`` in aliases, with ``recipient_delimiter = +``).
Exit status 0 once the message is dealt with, matched or not, so the mail server
neither retries nor bounces the bounce; only an unreadable standard input fails.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import CommandError

from campaigns.events.bounces.ingest import ingest
from subscribers.management.base import TocsinCommand

# A bounce carries at most the returned message; anything much larger is not one.
MAX_BYTES = 20 * 1024 * 1024


class Command(TocsinCommand):
    help = "Read one returned email on standard input and record its bounce or complaint (matched by VERP token)."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            raw = sys.stdin.buffer.read(MAX_BYTES + 1)
        except OSError as exc:
            raise CommandError(f"could not read standard input: {exc}") from exc
        if not raw.strip():
            self.stdout.write("ignored: standard input was empty, not an email message")
            return
        if len(raw) > MAX_BYTES:
            self.stdout.write(f"ignored: larger than {MAX_BYTES // (1024 * 1024)} MB, not a bounce")
            return
        self.stdout.write(str(ingest(raw)))
