"""Wait for a condition with a deadline, never for a tuned number of seconds.

A sleep long enough on a quiet laptop is too short on a loaded CI machine,
and a sleep long enough for CI slows every run: poll what the test is waiting
for instead, and fail with a message saying what did not happen.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

POLL_SECONDS = 0.1


def wait_until(
    condition: Callable[[], T], *, timeout: float = 30.0, message: str = "condition", interval: float = POLL_SECONDS
) -> T:
    """Call ``condition()`` until it returns something true, and return that; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{message} did not happen within {timeout:.0f} s")
        time.sleep(interval)
    return result


def wait_for_process(
    condition: Callable[[], object],
    process_alive: Callable[[], bool],
    *,
    timeout: float,
    describe: Callable[[], str],
    interval: float = POLL_SECONDS,
) -> None:
    """Like ``wait_until`` for a process starting up: give up at once if it died, and show its log."""
    deadline = time.monotonic() + timeout
    while not condition():
        if not process_alive() or time.monotonic() > deadline:
            raise RuntimeError(describe())
        time.sleep(interval)
