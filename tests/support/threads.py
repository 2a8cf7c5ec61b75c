"""Run calls at the same moment in threads, each with its own database connection (races only Postgres shows)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connection


def together(call: Callable[..., Any], *argument_lists: tuple[Any, ...], timeout: float = 30) -> list[BaseException]:
    """``call(*arguments)`` for each tuple, started together; the errors they raised (none: [])."""
    barrier = threading.Barrier(len(argument_lists))
    errors: list[BaseException] = []

    def run(arguments: tuple[Any, ...]) -> None:
        try:
            barrier.wait(timeout=10)
            call(*arguments)
        except BaseException as error:  # reported to the test's thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(arguments,)) for arguments in argument_lists]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return errors
