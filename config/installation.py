"""Secrets one installation generates for itself on first run, kept under var/.

Without ``SECRET_KEY`` a development key written in the repository would sign
every unsubscribe, preference and click link: anyone who read the code could
forge them. Without ``WEBHOOK_SECRET`` anyone could post a bounce to
``/anymail/`` and suppress an address. So when they are not set (and only
with DEBUG on: production refuses to start without them), each installation
makes its own, once, in a file beside the SQLite database.

Web, workers, beat and every ``manage.py`` command read settings, and so the
same file: they all agree. Several processes start at once under `make run`,
so the file appears whole or not at all (written aside, then hard-linked into
place; the loser of a race reads the winner's).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from config.env import ImproperlyConfiguredEnv


def installation_secret(path: Path, *, generate: Callable[[], str], variable: str) -> str:
    """The secret kept in ``path``, made with ``generate()`` by whichever process comes first."""
    existing = _read(path)
    if existing:
        return existing
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        # Readable by the operator only: the key opens every signed link.
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(generate() + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            with contextlib.suppress(FileExistsError):  # another process got there first
                os.link(draft, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                draft.unlink()
    except OSError as exc:
        raise ImproperlyConfiguredEnv(f"{variable} is not set and {path} cannot be written ({exc})") from exc
    value = _read(path)
    if not value:
        raise ImproperlyConfiguredEnv(f"{path} is empty: delete it, or set {variable}")
    return value


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return ""


def new_secret_key() -> str:
    return secrets.token_urlsafe(50)


def new_webhook_secret() -> str:
    """``user:password`` for Anymail's basic auth, both parts safe to put in a URL."""
    return f"tocsin:{secrets.token_urlsafe(24)}"
