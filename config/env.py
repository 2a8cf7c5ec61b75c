"""Small typed readers for settings that come from the environment.

Each reader fails loudly on a value it cannot understand: a typo in
``DEBUG=flase`` must stop the process at start, not silently turn debug on.
"""

from __future__ import annotations

import os
import re
from email.utils import parseaddr


class ImproperlyConfiguredEnv(ValueError):
    pass


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfiguredEnv(f"{name}={raw!r} is not a boolean (use 1/0, true/false, yes/no, on/off)")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfiguredEnv(f"{name}={raw!r} is not an integer") from None


def env_count(name: str) -> int | None:
    """A whole number of at least 1 (a limit); unset or empty: None (no limit)."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return None
    value = raw.strip()
    if not (value.isascii() and value.isdigit()) or int(value) < 1:
        raise ImproperlyConfiguredEnv(f"{name}={raw!r} is not a whole number of at least 1 (leave it unset for none)")
    return int(value)


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ImproperlyConfiguredEnv(f"{name}={raw!r} is not a number") from None


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


_CAP = re.compile(r"\s*([0-9]{1,6})\s*/\s*([0-9]{1,5})\s*([hd])\s*", re.IGNORECASE)


def env_cap(name: str) -> tuple[int, int] | None:
    """A frequency cap ``COUNT/WINDOW`` (``2/7d``, ``1/24h``) as (count, window in hours); unset or empty: None."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return None
    match = _CAP.fullmatch(raw)
    if match is None or int(match[1]) < 1 or int(match[2]) < 1:
        raise ImproperlyConfiguredEnv(
            f"{name}={raw!r} is not a frequency cap: write COUNT/WINDOW with the window in hours or days, "
            "e.g. 2/7d (at most 2 emails in 7 days) or 1/24h"
        )
    return int(match[1]), int(match[2]) * (24 if match[3].lower() == "d" else 1)


def with_display_name(value: str, display_name: str) -> str:
    """``value`` (an address, or "Name <address>") with ``display_name`` when it has none of its own.

    Always a quoted string: an organisation's name often holds a comma or a
    full stop, which would otherwise split or break the From header.
    """
    name, address = parseaddr(value)
    display_name = " ".join(display_name.split())
    if name or not address or not display_name:
        return value
    quoted = display_name.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{quoted}" <{address}>'
