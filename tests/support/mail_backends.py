"""Email backends for tests that need a send to fail in a chosen way (named in settings.EMAIL_BACKEND)."""

from __future__ import annotations

from typing import Any

from django.core.mail.backends.locmem import EmailBackend as LocmemBackend


class FailingBackend(LocmemBackend):
    """Delivers like locmem, except to the addresses mapped to an exception."""

    failures: dict[str, BaseException] = {}
    hook: Any = None

    def send_messages(self, messages):  # type: ignore[no-untyped-def]
        for message in messages:
            if FailingBackend.hook:
                FailingBackend.hook(message)
            error = FailingBackend.failures.get(message.to[0])
            if error is not None:
                raise error
        return super().send_messages(messages)
